import EventLoop
import HTTP1
import NetworkPolicy
import Transport
import HTTP2
#if canImport(Glibc)
import Glibc
#endif

extension ClientConnection {
    // MARK: Head

    func parseHead() {
        if input.isEmpty {
            arm(.idle, worker.settings.idleMillis)
            return
        }
        if firstRequest && offers.contains(.h2) && !transport.isTLS {
            // h2c with prior knowledge: the connection preface instead of a request line.
            switch H2Preface.matches(input.readable) {
            case true?:
                worker.handOverToH2(self)
                return
            case nil:
                if timerPhase != .header { arm(.header, worker.settings.requestHeaderMillis) }
                return
            case false?:
                break
            }
        }
        if firstRequest && !offers.contains(.http1) {
            // An HTTP/2-only listener (`protocols: [h2]`): an HTTP/1.1 client gets a clear
            // answer and the connection ends.
            record.start = Sys.monotonicNanos()
            reject(.http2Only, forceClose: true)
            return
        }
        if timerPhase != .header {
            record.start = Sys.monotonicNanos()
            arm(.header, worker.settings.requestHeaderMillis)
        }
        if head.headers.capacity == 0 { head = RequestHead() }  // the connection's first request
        let complete: Bool
        do {
            complete = try parser.parse(input.readable, into: &head)
        } catch {
            reject(Decision(error), forceClose: true)
            return
        }
        guard complete else { return }
        firstRequest = false
        if worker.draining { closeAfterResponse = true }
        // The log keeps the client's own spelling; the rules judge, and the upstream gets, the
        // path's one normal spelling, rewritten in place. Egress calls are the app's own,
        // chosen by host: their paths go out as the app wrote them (some APIs put %2F in ids).
        rememberForLog(input.readable)
        if !egress {
            do {
                record.pathNormalized = try head.normalizePath(in: input.mutableReadable)
            } catch {
                reject(Decision(error), forceClose: head.framing != .none)
                return
            }
        }
        admit()
    }

    /// Runs the pipeline for a parsed head; forwards or answers locally.
    private func admit() {
        var context = RequestContext(bytes: input.readable, head: head, peer: peerIP)
        context.tlsPeer = tlsPeer
        context.requestsClientCertificates = requestsClientCertificates
        context.egress = egress
        let result = egress ? worker.egressPipeline.run(&context) : worker.pipeline.run(&context)
        target = context.upstreamTarget
        if case .stop = result { record.judged(context, admitted: false) } else { record.judged(context, admitted: true) }
        record.bytesIn = UInt64(head.length)
        switch result {
        case .stop(let decision):
            // The body (if any) was not read; the connection cannot be reused safely.
            reject(decision, forceClose: head.framing != .none)
        case .continue where worker.settings.upstreamIsH2 && !egress:
            // Admitted, but the backend speaks only HTTP/2 and HTTP/1.1 requests are not
            // translated for it yet: a clear answer rather than a confusing 502.
            reject(.upstreamNeedsH2, forceClose: head.framing != .none)
        case .continue:
            forward(context)
        }
    }

    /// Answers locally and logs; the request never reaches the upstream.
    func reject(_ decision: Decision, forceClose: Bool) {
        let keepAlive = !forceClose && head.keepAlive && !closeAfterResponse && state == .readingHead
        if record.start == 0 { record.start = Sys.monotonicNanos() }
        let before = output.readableBytes
        LocalReply.write(decision, keepAlive: keepAlive, into: output)
        record.bytesOut = UInt64(output.readableBytes - before)
        logExchange(status: decision.status, decision: "rejected", reason: decision.code)
        if keepAlive {
            input.consume(head.length)
            resetForNextRequest()
            _ = flushOutput()
            if !closed, !input.isEmpty { processInput() }
        } else {
            state = .closing
            worker.loop.clearDeadline(self)
            // Stop reading: whatever else the client sent is not going to be looked at.
            readable = false
            if flushOutput(), output.isEmpty { shutdownAndClose() }
        }
    }

    /// Half-closes so the client reads the whole answer before seeing the connection end.
    func shutdownAndClose() {
        if case .tls(let session) = transport { session.shutdown() }
        _ = shutdown(fd, Int32(SHUT_WR))
        close()
    }

    func resetForNextRequest() {
        state = .readingHead
        parser.reset()
        requestBody = .done
        response.reset()
        retried = false
        retryable = false
        record = ExchangeRecord(client: peerIP)
        heldLogLine?.clear()
        logMethodLength = 0
        timerPhase = .idle
        if input.isEmpty { arm(.idle, worker.settings.idleMillis) }
    }

    /// Copies method and path for the access log: the head's bytes may be overwritten by body
    /// bytes before the exchange ends.
    private func rememberForLog(_ bytes: UnsafeRawBufferPointer) {
        guard worker.accessLog.enabled else { return }
        logLine.clear()
        logLine.append(UnsafeRawBufferPointer(rebasing: bytes[head.methodRange]))
        logMethodLength = head.methodRange.count
        // Path and query (the log drops the query unless `log.access_query`), as for HTTP/2's
        // :path; taken before the path is normalized, so it is what the client sent.
        let path = head.path.lowerBound..<(head.query.isEmpty ? head.path.upperBound : head.query.upperBound)
        logLine.append(UnsafeRawBufferPointer(rebasing: bytes[path.lowerBound..<min(path.upperBound, path.lowerBound + 1024)]))
    }

    // MARK: Forwarding

    private func forward(_ context: RequestContext) {
        state = .exchanging
        let bytes = input.readable
        sentHead.clear()
        worker.encodeUpstreamHead(bytes, head: head, context: context, secure: transport.isTLS, peer: tlsPeer, into: sentHead)
        switch head.framing {
        case .none, .untilClose: requestBody = .done
        case .contentLength(let n): requestBody = .length(n)
        case .chunked: requestBody = .chunked(ChunkedDecoder(maxTrailerBytes: worker.settings.requestLimits.maxHeadBytes))
        }
        retryable = head.method.isIdempotent && head.framing == .none && !head.upgrade
        if head.expectContinue {
            output.append("HTTP/1.1 100 Continue\r\n\r\n")
        }
        input.consume(head.length)
        record.forwarded()
        response.reset()
        if head.framing == .chunked {
            // Hold the head until the first chunk-size line has been validated, so a request whose
            // body framing is bad from the start never reaches the upstream at all.
            pumpRequest()
            return
        }
        guard attachUpstream(allowPooled: true) else { return }
        pumpRequest()
    }

    /// Takes a pooled connection or opens one, and queues the request head on it.
    @discardableResult
    func attachUpstream(allowPooled: Bool) -> Bool {
        guard let pool = worker.pool(for: target) else {
            reject(.upstreamUnavailable, forceClose: true)
            return false
        }
        var connection = allowPooled ? pool.take() : nil
        if connection == nil {
            do {
                connection = try pool.connect()
            } catch {
                reject(.upstreamUnavailable, forceClose: true)
                return false
            }
        }
        guard let connection else { return false }
        connection.owner = self
        upstream = connection
        connection.output.append(sentHead.readable)
        if connection.connected {
            arm(.upstreamResponse, worker.settings.responseTimeoutMillis)
        } else {
            arm(.upstreamConnect, worker.settings.connectTimeoutMillis)
        }
        return true
    }

    // MARK: Request body

    /// Moves request body bytes from the client to the upstream, within the upstream's bound.
    func pumpRequest() {
        // Before the upstream is attached (chunked requests), the body goes after the head in
        // `sentHead` and the upstream is attached once framing has proved itself.
        let out = upstream?.output ?? sentHead
        while true {
            guard out.readableBytes < Self.highWater, !input.isEmpty else { break }
            switch requestBody {
            case .done:
                break
            case .length(let remaining):
                let take = min(UInt64(input.readableBytes), remaining)
                out.append(UnsafeRawBufferPointer(rebasing: input.readable[0..<Int(take)]))
                input.consume(Int(take))
                record.bytesIn += take
                requestBody = remaining == take ? .done : .length(remaining - take)
                continue
            case .chunked(var decoder):
                let bytes = input.readable
                let consumed: Int
                var finished = false
                do {
                    consumed = try decoder.decode(bytes) { event in
                        switch event {
                        case .data(let range):
                            HTTP1BodyWriter.write(.data(UnsafeRawBufferPointer(rebasing: bytes[range])), chunked: true, to: out)
                        case .end(let trailers):
                            HTTP1BodyWriter.write(.end(trailers: UnsafeRawBufferPointer(rebasing: bytes[trailers])), chunked: true, to: out)
                            finished = true
                        }
                    }
                } catch {
                    // If the head already went upstream, the only safe answer is to end both sides.
                    failMidRequest(Decision(error))
                    return
                }
                input.consume(consumed)
                record.bytesIn += UInt64(consumed)
                requestBody = finished ? .done : .chunked(decoder)
                if !finished && consumed == 0 { break }
                continue
            case .untilClose:
                break
            }
            break
        }
        guard let upstream else {
            // Framing has proved itself: attach, and go round once more so the held head and
            // body are written now. A pooled connection is already writable and would raise
            // no event to flush them (the upstream then closed it idle and the client got 502).
            if chunkedFramingProven(), attachUpstream(allowPooled: true) { pumpRequest() }
            return
        }
        if !upstream.flush() { upstreamFailed() }
    }

    /// Whether the chunked body has shown at least one valid chunk-size line.
    private func chunkedFramingProven() -> Bool {
        if case .chunked(let decoder) = requestBody { return decoder.pastFirstSizeLine }
        return true
    }

    /// A request that failed after its head was sent: answer if nothing was answered yet, then close.
    func failMidRequest(_ decision: Decision) {
        upstream?.close()
        upstream = nil
        if !response.headDone && record.bytesOut == 0 {
            state = .readingHead
            reject(decision, forceClose: true)
        } else {
            abort()
        }
    }

    // MARK: Tunnel

    func pumpTunnelToUpstream() {
        guard let upstream else { return }
        if !input.isEmpty {
            upstream.output.append(input.readable)
            input.clear()
        }
        if !upstream.flush() { abort() }
    }
}

extension HeaderKind {
    static func classifyName(_ bytes: UnsafeRawBufferPointer, _ name: Range<Int>) -> HeaderKind {
        if name.isEmpty { return .hopByHop }
        let kind = HeaderKind.classify(bytes, name)
        if kind != .other { return kind }
        // Fields that must never arrive as trailers even though they are ordinary in a head.
        let lowered = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[name]), as: UTF8.self).lowercased()
        switch lowered {
        case "content-type", "content-encoding", "content-range", "cookie", "set-cookie", "www-authenticate",
             "proxy-authorization", "proxy-authenticate", "cache-control", "expires", "age", "date", "location",
             "retry-after", "vary", "max-forwards", "trailer":
            return .hopByHop
        default:
            return .other
        }
    }
}
