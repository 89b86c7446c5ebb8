import EventLoop
import HTTP1
import CShims

extension ClientConnection {
    // MARK: Upstream events

    func upstreamEvent(_ events: UInt32) {
        guard let upstream, !closed else { return }
        defer { releaseIdleBuffers() }
        guard upstream.becomeReady(ready: { arm(.upstreamResponse, worker.settings.responseTimeoutMillis) },
                                   failed: upstreamFailed) else { return }
        if upstream.writable, !upstream.output.isEmpty {
            guard upstream.flush() else {
                upstreamFailed()
                return
            }
            // Room again upstream: take more of the client's body.
            if upstream.output.readableBytes < Self.highWater {
                if state == .tunnel { pumpTunnelToUpstream() } else { pumpRequest() }
                if closed { return }
                drive()
                if closed { return }
            }
        }
        if upstream.readable {
            readUpstream(upstream)
        }
    }

    /// Reads what the upstream sent, within the client's output bound, and passes it on.
    func readUpstream(_ upstream: UpstreamConnection) {
        let out = output
        let end = upstream.readRounds(owned: { !closed && self.upstream === upstream },
                                      hasRoom: { out.readableBytes < Self.highWater }) {
            if timerPhase == .transfer { worker.loop.setDeadline(self, at: worker.loop.now + worker.settings.idleMillis) }
            if state == .tunnel { pumpTunnelToClient() } else { pumpResponse() }
        }
        switch end {
        case .paused, .noRoom: break  // resumed by the client's writes (resumeResponseIfRoom)
        case .endOfStream: upstreamEOF()
        case .failed: upstreamFailed()
        }
    }

    /// Resumes the upstream → client direction once the client's output has room again: bytes
    /// already buffered first, then whatever the upstream socket still holds.
    func resumeResponseIfRoom() {
        guard let upstream, state == .exchanging || state == .tunnel, output.readableBytes < Self.highWater else { return }
        if !upstream.input.isEmpty {
            if state == .tunnel { pumpTunnelToClient() } else { pumpResponse() }
        }
        if !closed, self.upstream === upstream, upstream.readable, output.readableBytes < Self.highWater {
            readUpstream(upstream)
        }
    }

    // MARK: Response

    /// Moves response bytes from the upstream to the client, head first.
    func pumpResponse() {
        guard let upstream else { return }
        while !closed, self.upstream === upstream {
            if !response.headDone {
                let step: UpstreamResponse.HeadStep
                do {
                    step = try response.parseHead(upstream.input, requestMethod: head.method)
                } catch {
                    failMidRequest(.badUpstreamResponse)
                    return
                }
                switch step {
                case .incomplete:
                    _ = flushOutput()
                    return
                case .informational:
                    retryable = false
                    if response.head.status == 101 {
                        guard head.upgrade else {
                            failMidRequest(.badUpstreamResponse)
                            return
                        }
                        startTunnel(upstream)
                        return
                    }
                    // 100 Continue was answered by us already; other 1xx go to HTTP/1.1 clients.
                    if response.head.status != 100 && head.isHTTP11 {
                        encodeClientHead(upstream.input.readable, informational: true)
                    }
                    response.skipInformational(upstream.input)
                    continue
                case .final:
                    retryable = false
                    startResponse(upstream)
                }
            }
            guard moveResponseBody(upstream) else { return }
            if response.bodyDone {
                finishExchange()
                return
            }
            break
        }
        _ = flushOutput()
    }

    /// The final head is in: decide how this client is framed and whether the connection
    /// lives on, then write the head.
    private func startResponse(_ upstream: UpstreamConnection) {
        arm(.transfer, worker.settings.idleMillis)
        let framing = response.head.framing
        chunkToClient = framing == .chunked && head.isHTTP11
        if !head.keepAlive || framing == .untilClose || (framing == .chunked && !head.isHTTP11) {
            closeAfterResponse = true
        }
        if case .done = requestBody {} else {
            // The upstream answered before reading the whole body: we won't read the rest
            // either, so the connection cannot carry another request.
            closeAfterResponse = true
        }
        let before = output.readableBytes
        encodeClientHead(upstream.input.readable, informational: false)
        record.bytesOut += UInt64(output.readableBytes - before)
        upstream.input.consume(response.head.length)
    }

    /// Returns false if the connection was closed.
    private func moveResponseBody(_ upstream: UpstreamConnection) -> Bool {
        let out = output
        let before = out.readableBytes
        let chunk = chunkToClient
        do {
            _ = try response.decodeBody(upstream.input, hasRoom: { out.readableBytes < Self.highWater }) { event in
                HTTP1BodyWriter.write(event, chunked: chunk, to: out)
            }
        } catch {
            abort()
            return false
        }
        record.bytesOut += UInt64(out.readableBytes - before)
        return true
    }

    /// Writes the response head for the client: hop-by-hop out, framing re-stated for this client.
    private func encodeClientHead(_ bytes: UnsafeRawBufferPointer, informational: Bool) {
        output.append("HTTP/1.1 ")
        let response = self.response.head
        output.append(decimal: UInt64(response.status))
        output.append(byte: 0x20)
        output.append(UnsafeRawBufferPointer(rebasing: bytes[response.reason]))
        output.append("\r\n")
        let keepsLength = head.method == .head || response.status == 304
        for field in response.headers {
            switch field.kind {
            case .contentLength where keepsLength:
                break
            case .contentLength, .transferEncoding, .connection, .hopByHop, .upgrade:
                continue
            default:
                if !response.nominated.isEmpty, response.isNominated(field, in: bytes) { continue }
            }
            output.append(UnsafeRawBufferPointer(rebasing: bytes[Int(field.nameStart)..<Int(field.valueEnd)]))
            output.append("\r\n")
        }
        if !informational {
            switch response.framing {
            case .contentLength(let n):
                output.append("Content-Length: ")
                output.append(decimal: n)
                output.append("\r\n")
            case .chunked where chunkToClient:
                output.append("Transfer-Encoding: chunked\r\n")
            case .none where !keepsLength && response.status != 204:
                output.append("Content-Length: 0\r\n")
            default:
                break
            }
            if closeAfterResponse || worker.draining {
                output.append("Connection: close\r\n")
            } else if !head.isHTTP11 {
                output.append("Connection: keep-alive\r\n")
            }
        }
        output.append("\r\n")
    }

    // MARK: Ending an exchange

    private func finishExchange() {
        guard let upstream else { return }
        let requestDone: Bool
        if case .done = requestBody { requestDone = true } else { requestDone = false }
        logExchange(status: response.head.status, decision: "forwarded", reason: "allowed")
        self.upstream = nil
        upstream.pool.finish(upstream, reusable: response.head.keepAlive && requestDone)
        if closeAfterResponse || worker.draining || peerClosed {
            state = .closing
            worker.loop.clearDeadline(self)
            if flushOutput(), output.isEmpty { shutdownAndClose() }
            return
        }
        resetForNextRequest()
        _ = flushOutput()
        if !closed && !input.isEmpty { processInput() }
        // Input that arrived while the exchange had no use for it (a pipelined request, or the
        // client's FIN after a half-close) raised no new edge: go back for it, or the
        // connection would sit until the idle timeout.
        if !closed && readable { worker.loop.resumeSoon(self) }
    }

    /// The upstream closed its side.
    private func upstreamEOF() {
        if state == .tunnel {
            // The upstream ended the tunnel: deliver what is queued, then close.
            state = .closing
            upstream?.close()
            upstream = nil
            if flushOutput(), output.isEmpty { shutdownAndClose() }
            return
        }
        if let upstream, response.headDone {
            // A body delimited by the close: what is buffered, then its end.
            guard moveResponseBody(upstream) else { return }
            let out = output
            let chunk = chunkToClient
            if response.endAtClose({ HTTP1BodyWriter.write($0, chunked: chunk, to: out) }) {
                closeAfterResponse = true
                finishExchange()
                return
            }
        }
        upstreamFailed()
    }

    /// The upstream connection broke (refused, reset, closed early).
    func upstreamFailed() {
        guard let failed = upstream else { return }
        let wasReused = failed.reuseCount > 0
        failed.close()
        upstream = nil
        // A keep-alive connection the upstream had already closed: safe to replay once when the
        // request is idempotent, has no body, and no response byte came back.
        if retryable && wasReused && !retried && !response.headDone {
            retried = true
            if attachUpstream(allowPooled: false) {
                pumpRequest()
            }
            return
        }
        if response.headDone || record.bytesOut > 0 {
            abort()
        } else {
            failMidRequest(.upstreamUnavailable)
        }
    }

    // MARK: Tunnel

    private func startTunnel(_ upstream: UpstreamConnection) {
        let bytes = upstream.input.readable
        encodeTunnelHead(bytes)
        response.switchedProtocols(upstream.input)
        state = .tunnel
        logExchange(status: 101, decision: "forwarded", reason: "upgraded")
        worker.loop.clearDeadline(self)
        pumpTunnelToClient()
        pumpTunnelToUpstream()
    }

    private func encodeTunnelHead(_ bytes: UnsafeRawBufferPointer) {
        output.append("HTTP/1.1 101 ")
        output.append(UnsafeRawBufferPointer(rebasing: bytes[response.head.reason]))
        output.append("\r\n")
        for field in response.head.headers {
            switch field.kind {
            case .connection, .hopByHop, .contentLength, .transferEncoding: continue
            default: break
            }
            output.append(UnsafeRawBufferPointer(rebasing: bytes[Int(field.nameStart)..<Int(field.valueEnd)]))
            output.append("\r\n")
        }
        output.append("Connection: upgrade\r\n\r\n")
    }

    func pumpTunnelToClient() {
        guard let upstream else { return }
        if !upstream.input.isEmpty && output.readableBytes < Self.highWater {
            output.append(upstream.input.readable)
            upstream.input.clear()
        }
        _ = flushOutput()
    }

    // MARK: Log

    func logExchange(status: Int, decision: StaticString, reason: String) {
        record.upstreamFinished()
        let line = heldLogLine?.readable ?? UnsafeRawBufferPointer(start: nil, count: 0)
        worker.finishExchange(record, method: UnsafeRawBufferPointer(rebasing: line[0..<logMethodLength]),
                              path: UnsafeRawBufferPointer(rebasing: line[logMethodLength...]),
                              status: status, decision: decision, reason: reason, h2: false,
                              tls: tlsLog, viaProxyProtocol: viaProxyProtocol, listener: listener)
    }
}
