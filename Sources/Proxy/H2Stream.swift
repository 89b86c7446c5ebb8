import EventLoop
import HTTP1
import NetworkPolicy
import Transport
import HTTP2

/// One HTTP/2 stream's exchange: the request's header fields are written out as the HTTP/1.1
/// head they mean and read back by the same strict ``RequestParser``, so the pipeline, the
/// rules and the upstream see exactly what an HTTP/1.1 client's request would give them. Then
/// the stream is admitted, forwarded on the worker's upstream pool, and the answer streamed
/// back as HEADERS, DATA and trailers.
final class H2Stream: TimerHandler, UpstreamOwner {
    let id: Int32
    // Strong: an upstream event under way can outlive the client connection's close, and the
    // stream must still be able to call it (a closed connection ignores what it is told). The
    // cycle is broken when the connection forgets the stream: at its end, or at the close.
    let connection: H2Connection
    var timer = TimerSlot()
    private(set) var finished = false

    // Request.
    let headBytes: IOBuffer
    var method: [UInt8] = []
    var path: [UInt8] = []
    var authority: [UInt8] = []
    var cookies: [UInt8] = []
    var fieldsStarted = false
    var head = RequestHead()
    var requestChunked = false
    var requestDone = false
    var isGRPC = false
    /// The client asked for trailers (`te: trailers`, as gRPC clients do): an HTTP/2 upstream
    /// is told so.
    var wantsTrailers = false
    /// With an HTTP/2 upstream: the connection and the stream id there.
    var h2Upstream: H2UpstreamConnection?
    var h2UpstreamID: Int32 = 0
    /// The upstream's DATA provider was told to wait for more request body.
    var upstreamBodyDeferred = false
    var upstreamStatus = 0
    var upstreamFields: [(name: [UInt8], value: [UInt8])] = []
    /// Request bytes for the upstream before it is attached (its head, then body).
    let pending: IOBuffer
    /// Body bytes received but not yet given back as window.
    var unconsumed = 0

    // Upstream and response.
    private var upstream: UpstreamConnection?
    var response: UpstreamResponse
    var responseStarted = false
    let responseBuffer: IOBuffer
    var responseEnded = false
    var responseTrailers: [(name: [UInt8], value: [UInt8])] = []
    var deferred = false
    /// Upstream reading stopped because the body buffer was full.
    private var pausedForRoom = false
    var timerPhase = ClientConnection.TimerPhase.upstreamConnect
    /// The whole answer (or a refusal) is with nghttp2 or in `responseBuffer`: what keeps the
    /// stream open now is the client (no window to take the body, or a request never ended).
    var answered = false

    // Log.
    var record: ExchangeRecord
    private var logged = false

    // The worker outlives its connections and their streams (they die with its loop).
    unowned(unsafe) let worker: Worker
    /// Held strongly: `deinit` gives the buffers back, and may run after the connection is gone.
    private let buffers: BufferPool

    init(id: Int32, connection: H2Connection) {
        self.id = id
        self.connection = connection
        worker = connection.worker
        buffers = connection.worker.buffers
        headBytes = buffers.take()
        pending = buffers.take()
        responseBuffer = buffers.take()
        record = ExchangeRecord(client: connection.peerIP)
        response = UpstreamResponse(maxHeadBytes: connection.worker.settings.requestLimits.maxHeadBytes)
        record.start = Sys.monotonicNanos()
    }

    deinit {
        // Not through `connection`: the last reference to a stream can be dropped after its
        // connection is gone (an upstream event that was under way when the client left).
        buffers.give(headBytes)
        buffers.give(pending)
        buffers.give(responseBuffer)
    }

    // MARK: Upstream

    func attachUpstream() {
        var connectionToUse = worker.ingressPool?.take()
        if connectionToUse == nil {
            connectionToUse = try? worker.ingressPool?.connect()
        }
        guard let upstream = connectionToUse else {
            reject(.upstreamUnavailable)
            return
        }
        upstream.owner = self
        self.upstream = upstream
        record.forwarded()
        upstream.output.append(pending.readable)
        pending.clear()
        arm(upstream.connected ? .upstreamResponse : .upstreamConnect,
            upstream.connected ? worker.settings.responseTimeoutMillis : worker.settings.connectTimeoutMillis)
        if upstream.connected { flushUpstreamSoon(upstream) }
    }

    func requestData(_ bytes: UnsafeRawBufferPointer) {
        guard !finished else { return }
        record.bytesIn += UInt64(bytes.count)
        if let h2Upstream {
            pending.append(bytes)
            unconsumed += bytes.count
            if upstreamBodyDeferred {
                upstreamBodyDeferred = false
                h2Upstream.resume(h2UpstreamID)
            }
            h2Upstream.flush()
            return
        }
        HTTP1BodyWriter.write(.data(bytes), chunked: requestChunked, to: upstream?.output ?? pending)
        unconsumed += bytes.count
        if let upstream { flushUpstreamSoon(upstream) }
    }

    func requestEnded() {
        guard !finished else { return }
        requestDone = true
        if let h2Upstream {
            if upstreamBodyDeferred {
                upstreamBodyDeferred = false
                h2Upstream.resume(h2UpstreamID)
            }
            h2Upstream.flush()
            return
        }
        HTTP1BodyWriter.write(.end(trailers: UnsafeRawBufferPointer(start: nil, count: 0)), chunked: requestChunked,
                              to: upstream?.output ?? pending)
        if let upstream { flushUpstreamSoon(upstream) }
    }

    /// While the connection is feeding nghttp2 a batch of frames, a later frame of the same
    /// batch can still make this request malformed (DATA that disagrees with content-length,
    /// say): nghttp2 then resets the stream, and the reset goes out before the upstream is
    /// written, so a malformed request is not forwarded even on a pooled, connected upstream.
    private func flushUpstreamSoon(_ upstream: UpstreamConnection) {
        if connection.receiving {
            connection.flushUpstreamAfterReceive(self)
        } else {
            flushUpstream(upstream)
        }
    }

    /// The batch is in and the session's resets are sent: write what this stream still holds.
    func flushDeferredUpstream() {
        guard !finished, let upstream, upstream.connected else { return }
        flushUpstream(upstream)
    }

    /// Writes to the upstream and gives the client window back for what it took.
    private func flushUpstream(_ upstream: UpstreamConnection) {
        guard upstream.flush() else {
            upstreamFailed()
            return
        }
        if unconsumed > 0 && upstream.output.readableBytes < ClientConnection.highWater {
            connection.consume(id, unconsumed)
            unconsumed = 0
        }
    }

    func upstreamEvent(_ events: UInt32) {
        guard let upstream, !finished else { return }
        guard upstream.becomeReady(ready: { arm(.upstreamResponse, worker.settings.responseTimeoutMillis) },
                                   failed: upstreamFailed) else { return }
        if upstream.writable, !upstream.output.isEmpty {
            flushUpstream(upstream)
            if finished { return }
        }
        if upstream.readable { readUpstream(upstream) }
        connection.flushSession()
    }

    /// Called by the connection once nghttp2 took buffered body bytes (inside its flush).
    func resumeUpstream() {
        guard let upstream, !finished else { return }
        if !upstream.input.isEmpty { pumpResponse(upstream) }
        readUpstream(upstream)
    }

    private func readUpstream(_ upstream: UpstreamConnection) {
        let buffer = responseBuffer
        let end = upstream.readRounds(owned: { !finished && self.upstream === upstream },
                                      hasRoom: { buffer.readableBytes < ClientConnection.highWater }) {
            if timerPhase == .transfer { worker.loop.setDeadline(self, at: worker.loop.now + worker.settings.idleMillis) }
            pumpResponse(upstream)
        }
        switch end {
        case .paused: break
        case .noRoom: pausedForRoom = true  // resumed when nghttp2 takes bytes (responseBody)
        case .endOfStream: upstreamEOF()
        case .failed: upstreamFailed()
        }
    }

    private func pumpResponse(_ upstream: UpstreamConnection) {
        while !responseStarted {
            let step: UpstreamResponse.HeadStep
            do {
                step = try response.parseHead(upstream.input, requestMethod: head.method)
            } catch {
                fail(.badUpstreamResponse)
                return
            }
            switch step {
            case .incomplete:
                return
            case .informational:
                response.skipInformational(upstream.input)
            case .final:
                responseStarted = true
                arm(.transfer, worker.settings.idleMillis)
                let hasBody = !response.bodyDone
                connection.respond(id, status: response.head.status, fields: responseFields(upstream.input.readable), body: hasBody)
                upstream.input.consume(response.head.length)
                if !hasBody {
                    responseEnded = true
                    finishUpstream()
                    return
                }
            }
        }
        moveResponseBody(upstream)
    }

    /// The upstream head's fields as HTTP/2 carries them: lower-case names, no connection-specific
    /// fields, the length only where it frames the body.
    private func responseFields(_ bytes: UnsafeRawBufferPointer) -> [(name: [UInt8], value: [UInt8])] {
        let head = response.head
        var fields: [(name: [UInt8], value: [UInt8])] = []
        for field in head.headers {
            switch field.kind {
            case .connection, .hopByHop, .transferEncoding, .upgrade:
                continue
            case .contentLength:
                if case .contentLength = head.framing {} else { continue }
            default:
                if !head.nominated.isEmpty, head.isNominated(field, in: bytes) { continue }
            }
            fields.append((Self.lowercased(bytes[field.name]), Array(bytes[field.value])))
        }
        return fields
    }

    private static func lowercased(_ bytes: Slice<UnsafeRawBufferPointer>) -> [UInt8] {
        bytes.map { ($0 &- 65) < 26 ? $0 | 0x20 : $0 }
    }

    private func moveResponseBody(_ upstream: UpstreamConnection) {
        let out = responseBuffer
        let before = out.readableBytes
        do {
            let ended = try response.decodeBody(upstream.input, hasRoom: { out.readableBytes < ClientConnection.highWater }) { event in
                take(event)
            }
            if ended { responseEnded = true }
        } catch {
            fail(.badUpstreamResponse)
            return
        }
        record.bytesOut += UInt64(out.readableBytes - before)
        if out.readableBytes >= ClientConnection.highWater && !responseEnded { pausedForRoom = true }
        if responseEnded { finishUpstream() }
        resumeIfDeferred()
    }

    /// Body bytes wait in `responseBuffer` for nghttp2 to ask; trailers go out after them.
    private func take(_ event: UpstreamResponse.BodyEvent) {
        switch event {
        case .data(let bytes):
            responseBuffer.append(bytes)
        case .end(let trailers):
            responseEnded = true
            HTTP1BodyWriter.forEachForwardableTrailer(trailers) { _, name, value in
                responseTrailers.append((Self.lowercased(trailers[name]), Array(trailers[value])))
            }
        }
    }

    /// nghttp2 was told to wait for body bytes: there are some now, or the end.
    private func resumeIfDeferred() {
        if deferred && (responseBuffer.readableBytes > 0 || responseEnded) {
            deferred = false
            connection.resume(id)
        }
    }

    /// nghttp2 asks for the next piece of the body.
    func responseBody(into buffer: UnsafeMutableRawBufferPointer) -> H2BodyChunk {
        let count = min(buffer.count, responseBuffer.readableBytes)
        if count > 0, let base = buffer.baseAddress {
            base.copyMemory(from: responseBuffer.base + responseBuffer.readerIndex, byteCount: count)
            responseBuffer.consume(count)
            // An HTTP/2 upstream gets its window back as the client takes the bytes.
            if let h2Upstream { h2Upstream.consume(h2UpstreamID, count) }
            // The client took bytes: the transfer is moving.
            if timerPhase == .transfer { worker.loop.setDeadline(self, at: worker.loop.now + worker.settings.idleMillis) }
            if pausedForRoom {
                pausedForRoom = false
                connection.waitingForRoom.append(self)
            }
        }
        if responseBuffer.isEmpty && responseEnded {
            let trailers = !responseTrailers.isEmpty
            if trailers { connection.sendTrailers(id, fields: responseTrailers) }
            if !logged { log(status: response.head.status, decision: "forwarded", reason: "allowed") }
            return .bytes(count: count, end: true, trailers: trailers)
        }
        if count == 0 {
            deferred = true
            return .later
        }
        return .bytes(count: count, end: false, trailers: false)
    }

    /// The response is all read: the upstream connection goes back to the pool if it can.
    private func finishUpstream() {
        guard let upstream else { return }
        self.upstream = nil
        // The upstream is done, but the client may have no window for the rest: the timer
        // stays until the stream ends, or such a client would hold the stream forever.
        answered = true
        arm(.transfer, worker.settings.idleMillis)
        upstream.pool.finish(upstream, reusable: response.head.keepAlive && requestDone)
    }

    private func upstreamEOF() {
        if responseStarted, response.endAtClose({ take($0) }) {
            finishUpstream()
            resumeIfDeferred()
            return
        }
        upstreamFailed()
    }

    private func upstreamFailed() {
        fail(.upstreamUnavailable)
    }

    /// The exchange broke: a 502/504 if nothing was answered yet, else the stream is reset.
    func fail(_ decision: Decision) {
        closeUpstream(reusable: false)
        if !responseStarted {
            reject(decision)
        } else {
            log(status: response.head.status, decision: "aborted", reason: "connection_aborted")
            connection.reset(id, code: 2)  // INTERNAL_ERROR
        }
        connection.flushSession()
    }

    func closeUpstream(reusable: Bool) {
        if let h2Upstream {
            self.h2Upstream = nil
            h2Upstream.cancel(h2UpstreamID)
        }
        guard let upstream else { return }
        self.upstream = nil
        upstream.close()
    }

    // MARK: Timers and ending

    func arm(_ phase: ClientConnection.TimerPhase, _ millis: Int64) {
        timerPhase = phase
        worker.loop.setDeadline(self, at: worker.loop.now + millis)
    }

    func deadlinePassed(now: Int64) {
        guard !finished else { return }
        if answered {
            // Only the client holds the stream open (a zero window, or a request body that
            // never ends): give up on it, so its buffers go too.
            if !logged { log(status: response.head.status, decision: "aborted", reason: "connection_aborted") }
            connection.reset(id, code: 8)  // CANCEL
            connection.flushSession()
            return
        }
        // Connect, response or a stalled transfer: the same answer (or a reset once begun).
        fail(.upstreamTimeout)
    }

    /// The stream ended (completed, reset by the client, or the connection closed).
    func streamClosed(errorCode: UInt32) {
        guard !finished else { return }
        finished = true
        worker.loop.clearDeadline(self)
        if upstream != nil || h2Upstream != nil {
            // Reset mid-exchange: the upstream connection is in an unknown state.
            closeUpstream(reusable: false)
            if !logged { log(status: responseStarted ? response.head.status : 0, decision: "aborted", reason: "stream_reset") }
        }
    }

    func log(status: Int, decision: StaticString, reason: String) {
        logged = true
        record.upstreamFinished()
        method.withUnsafeBytes { methodBytes in
            path.withUnsafeBytes { pathBytes in
                worker.finishExchange(record, method: methodBytes, path: pathBytes, status: status, decision: decision,
                                      reason: reason, h2: true, tls: connection.tlsLog,
                                      viaProxyProtocol: connection.viaProxyProtocol, listener: connection.listener)
            }
        }
    }
}
