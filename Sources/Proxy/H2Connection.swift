import CShims
import EventLoop
import HTTP2
import NetworkPolicy
import Synchronization
import Transport

/// An HTTP/2 client connection: the transport below, nghttp2's framing in ``H2Session``, and one
/// ``H2Stream`` exchange per request. Streams are admitted and forwarded independently: a
/// refused stream gets its answer while the others go on.
///
/// It takes over from a ``ClientConnection`` that learned the protocol (ALPN `h2`, or the
/// HTTP/2 preface on a cleartext listener that offers h2), on the same socket and loop.
final class H2Connection: EventHandler, TimerHandler, DownstreamConnection, H2SessionDelegate {
    let fd: Int32
    let transport: Transport
    unowned(unsafe) let worker: Worker
    let peerIP: IPAddress
    let listener: String
    let viaProxyProtocol: Bool
    let tlsPeer: PeerCertificate?
    let requestsClientCertificates: Bool
    let tlsLog: AccessLog.TLSLogFields?
    private let live: LiveObjects
    /// Their storage is lent by the worker's pool while there are frames to read or write and
    /// given back once empty at the end of an event: an idle HTTP/2 connection holds only
    /// nghttp2's session.
    let input: IOBuffer
    let output: IOBuffer
    var timer = TimerSlot()
    private(set) var closed = false
    private var readable = true
    private var writable = true
    /// FIN or error signalled: keep reading until the read says so (edge-triggered).
    private var hangup = false
    private var draining = false
    private var flushing = false
    /// Bytes reached the client since the last deadline (see ``deadlinePassed(now:)``).
    private var wroteSinceDeadline = false
    private(set) var streams: [Int32: H2Stream] = [:]
    /// Streams whose upstream reading stopped for want of room, to resume after a send.
    var waitingForRoom: [H2Stream] = []
    /// nghttp2 is processing received frames (``H2Session/receive(_:)`` is under way).
    private(set) var receiving = false
    /// Streams with request bytes for the upstream from the batch being received: written
    /// once the batch is in and the session's answers to it (resets of malformed requests
    /// among them) have been sent.
    private var upstreamFlushes: [H2Stream] = []
    private lazy var session = H2Session(delegate: self, limits: worker.h2Limits)

    static let highWater = 256 * 1024
    static let enhanceYourCalm: UInt32 = 0xb

    init(from connection: ClientConnection) {
        fd = connection.fd
        transport = connection.transport
        worker = connection.worker
        peerIP = connection.peerIP
        listener = connection.listener
        viaProxyProtocol = connection.viaProxyProtocol
        tlsPeer = connection.tlsPeer
        requestsClientCertificates = connection.requestsClientCertificates
        tlsLog = connection.tlsLog
        live = worker.live
        input = IOBuffer(lendingFrom: worker.buffers.blocks)
        output = IOBuffer(lendingFrom: worker.buffers.blocks)
        // Bytes already read past the HTTP/1.1 codec's view: the preface and what followed.
        input.append(connection.input.readable)
        live.clients.add(1, ordering: .relaxed)
    }

    deinit {
        live.clients.subtract(1, ordering: .relaxed)
    }

    /// Sends our SETTINGS and processes whatever already arrived.
    func start() {
        worker.loop.setDeadline(self, at: worker.loop.now + worker.settings.idleMillis)
        drive()
    }

    // MARK: Events

    func handleEvent(_ events: UInt32) {
        if events & cs_EPOLLOUT != 0 { writable = true }
        if events & (cs_EPOLLIN | cs_EPOLLRDHUP | cs_EPOLLHUP | cs_EPOLLERR) != 0 { readable = true }
        if events & (cs_EPOLLRDHUP | cs_EPOLLHUP | cs_EPOLLERR) != 0 { hangup = true }
        drive()
    }

    func drive() {
        driveSteps()
        if !closed {
            if input.holdsStorage { input.shed() }
            if output.holdsStorage { output.shed() }
        }
    }

    private func driveSteps() {
        var rounds = 0
        while !closed {
            rounds += 1
            if rounds > 64 {
                worker.loop.resumeSoon(self)
                return
            }
            if !input.isEmpty {
                receiving = true
                do {
                    try session.receive(input.readable)
                    receiving = false
                } catch {
                    receiving = false
                    upstreamFlushes.removeAll()
                    input.clear()
                    if session.flood != nil {
                        // nghttp2 found the flood and can send nothing more: say why by hand.
                        session.goawayFrame(errorCode: Self.enhanceYourCalm).withUnsafeBytes { output.append($0) }
                    } else {
                        // nghttp2 queued a GOAWAY with the error's code: send it, then close.
                        flushSession()
                    }
                    closeAfterFlush()
                    return
                }
                input.clear()
                if session.flood != nil {
                    // Over a frame budget: the GOAWAY(ENHANCE_YOUR_CALM) goes out as far as
                    // the socket takes it, and the connection closes now, not when the client
                    // gets round to reading.
                    upstreamFlushes.removeAll()
                    flushSession()
                    closeAfterFlush()
                    return
                }
                if !upstreamFlushes.isEmpty {
                    // Resets first (a reset stream's upstream is closed unwritten), then the
                    // upstream writes, whose window updates the flush below sends.
                    flushSession()
                    let streams = upstreamFlushes
                    upstreamFlushes.removeAll(keepingCapacity: true)
                    for stream in streams { stream.flushDeferredUpstream() }
                }
            }
            flushSession()
            if closed { return }
            if !session.isAlive && output.isEmpty {
                close()
                return
            }
            // Reading goes on while the output waits for the client: nghttp2 takes no more
            // response bytes than the output has room for, request bodies are flow-controlled
            // and streams are capped, so what a client that does not read can still make us
            // queue is ACKs, and nghttp2 counts those (H2Limits.maxOutboundAcks). Stopping here
            // instead would leave a PING or SETTINGS flood parked until the idle timeout.
            guard readable else { return }
            do {
                switch try transport.read(into: input, maxHeld: 64 * 1024) {
                case .read(_, let filled):
                    if !filled && !hangup { readable = false }
                case .wouldBlock:
                    readable = false
                    return
                case .full:
                    return
                case .endOfStream:
                    close()
                    return
                }
            } catch {
                close()
                return
            }
        }
    }

    /// Moves what nghttp2 wants to say into the output and onto the wire; streams whose
    /// upstream reading waited for room read again, and what they read goes out in the same
    /// call. Streams call this from their upstream events; a call already under way absorbs
    /// theirs (no recursion through nghttp2's callbacks).
    func flushSession() {
        guard !closed, !flushing else { return }
        flushing = true
        defer { flushing = false }
        var rounds = 0
        while !closed {
            rounds += 1
            do {
                let out = output
                try session.send(budget: Self.highWater - output.readableBytes) { out.append($0) }
            } catch {
                close()
                return
            }
            if writable, !output.isEmpty {
                let before = output.readableBytes
                do {
                    if try !transport.write(from: output) { writable = false }
                } catch {
                    close()
                    return
                }
                if output.readableBytes < before { wroteSinceDeadline = true }
            }
            // Go round again while there is something to do: streams that can read again, or
            // frames nghttp2 could not produce because the output was full until this write.
            let drainedWithMoreToSay = writable && output.isEmpty && session.wantsWrite
            guard !waitingForRoom.isEmpty || drainedWithMoreToSay else { break }
            if rounds == 8 {
                // Fairness: the rest on the next iteration.
                worker.loop.resumeSoon(self)
                break
            }
            let waiting = waitingForRoom
            waitingForRoom.removeAll(keepingCapacity: true)
            for stream in waiting where !stream.finished { stream.resumeUpstream() }
        }
        updateIdleTimer()
        // Streams call this from their upstream events, which use neither buffer.
        if output.holdsStorage { output.shed() }
    }

    private func closeAfterFlush() {
        guard !closed else { return }
        if !output.isEmpty { _ = try? transport.write(from: output) }
        close()
    }

    // MARK: Session events

    func h2StreamOpened(_ id: Int32) {
        guard !draining else { return }
        streams[id] = H2Stream(id: id, connection: self)
    }

    func h2Header(_ id: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        streams[id]?.header(name: name, value: value)
    }

    func h2HeadersComplete(_ id: Int32, endStream: Bool) {
        streams[id]?.headersComplete(endStream: endStream)
    }

    func h2Data(_ id: Int32, _ bytes: UnsafeRawBufferPointer) {
        if let stream = streams[id] {
            stream.requestData(bytes)
        } else {
            // A stream we no longer track: the window still has to come back.
            session.consume(id, bytes.count)
        }
    }

    func h2RequestEnded(_ id: Int32) {
        streams[id]?.requestEnded()
    }

    func h2StreamClosed(_ id: Int32, errorCode: UInt32) {
        guard let stream = streams.removeValue(forKey: id) else { return }
        stream.streamClosed(errorCode: errorCode)
        updateIdleTimer()
        if draining && streams.isEmpty { session.terminate(code: 0) }
    }

    func h2ResponseBody(_ id: Int32, into buffer: UnsafeMutableRawBufferPointer) -> H2BodyChunk {
        guard let stream = streams[id] else { return .bytes(count: 0, end: true, trailers: false) }
        return stream.responseBody(into: buffer)
    }

    // MARK: For streams

    func respond(_ id: Int32, status: Int, fields: [(name: [UInt8], value: [UInt8])], body: Bool) {
        session.respond(id, status: status, fields: fields, body: body)
    }

    func sendTrailers(_ id: Int32, fields: [(name: [UInt8], value: [UInt8])]) {
        session.sendTrailers(id, fields: fields)
    }

    func flushUpstreamAfterReceive(_ stream: H2Stream) {
        if !upstreamFlushes.contains(where: { $0 === stream }) { upstreamFlushes.append(stream) }
    }

    func resume(_ id: Int32) { session.resume(id) }
    func consume(_ id: Int32, _ count: Int) { session.consume(id, count) }
    func reset(_ id: Int32, code: UInt32) { session.reset(id, code: code) }

    // MARK: Timers and ending

    private func updateIdleTimer() {
        if streams.isEmpty {
            worker.loop.setDeadline(self, at: worker.loop.now + worker.settings.idleMillis)
        }
    }

    func deadlinePassed(now: Int64) {
        guard !closed else { return }
        if streams.isEmpty {
            // Idle: say goodbye properly, then close.
            session.terminate(code: 0)
            flushSession()
            close()
            return
        }
        // Streams are open, each under its own timer, but a stream's end (its last DATA, or the
        // RST_STREAM of its timeout) still has to reach the client. Output waiting with nothing
        // written for a whole idle period is a client that stopped reading: close. Otherwise
        // look again later, so the connection is never without a deadline.
        if !output.isEmpty && !wroteSinceDeadline {
            close()
            return
        }
        wroteSinceDeadline = false
        worker.loop.setDeadline(self, at: now + worker.settings.idleMillis)
    }

    func drain() {
        guard !draining else { return }
        draining = true
        if streams.isEmpty {
            session.terminate(code: 0)
            flushSession()
            close()
        } else {
            session.shutdownNotice()
            flushSession()
        }
    }

    func close() {
        guard !closed else { return }
        closed = true
        let open = streams
        streams.removeAll()
        for stream in open.values { stream.streamClosed(errorCode: 0) }
        waitingForRoom.removeAll()
        upstreamFlushes.removeAll()
        worker.loop.clearDeadline(self)
        if case .tls(let tls) = transport { tls.shutdown() }
        worker.loop.close(fd)
        worker.connectionClosed(self)
    }
}
