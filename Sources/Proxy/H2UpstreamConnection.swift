import CShims
import EventLoop
import HTTP2
import Synchronization
import Transport

/// One HTTP/2 connection to the upstream (`upstream.protocol: h2`, prior knowledge), shared by
/// the worker's streams: each ``H2Stream`` that is forwarded opens a stream here. When it breaks
/// or the upstream says GOAWAY, its streams fail and the next request opens a new connection.
final class H2UpstreamConnection: EventHandler, H2ClientSessionDelegate {
    let fd: Int32
    let transport: Transport
    unowned(unsafe) let worker: Worker
    private let live: LiveObjects
    private let buffers: BufferPool
    private let input: IOBuffer
    private let output: IOBuffer
    private var tcpConnected = false
    private var connected = false
    private var readable = false
    private var writable = false
    private var hangup = false
    private(set) var closed = false
    private var flushing = false
    private var streams: [Int32: H2Stream] = [:]
    /// A reload pointed the worker at another upstream: no new streams; closed once the last ends.
    private var retiring = false
    private lazy var session = H2ClientSession(delegate: self)
    /// Client connections that owe their peer a WINDOW_UPDATE after this connection's writes.
    private var toWake: [H2Connection] = []

    func wakeAfterFlush(_ connection: H2Connection) {
        if toWake.last !== connection { toWake.append(connection) }
    }

    static let highWater = 256 * 1024

    init(fd: Int32, worker: Worker, tls: TLSSession?) {
        self.fd = fd
        transport = tls.map { .tls($0) } ?? .plain(fd)
        self.worker = worker
        live = worker.live
        buffers = worker.buffers
        input = buffers.take()
        output = buffers.take()
        live.upstreams.add(1, ordering: .relaxed)
    }

    deinit {
        buffers.give(input)
        buffers.give(output)
        live.upstreams.subtract(1, ordering: .relaxed)
    }

    /// Opens a connection; the connect completes asynchronously (requests queue meanwhile).
    static func open(worker: Worker) throws(SystemError) -> H2UpstreamConnection {
        // ENETUNREACH: a configuration with egress alone has no ingress upstream to open.
        guard let target = worker.ingressPool?.target else { throw SystemError("connect", errno: 101) }
        let (fd, session) = try worker.dial(target)
        let connection = H2UpstreamConnection(fd: fd, worker: worker, tls: session)
        do {
            connection.tcpConnected = try worker.startConnect(fd, target, connection)
            if connection.tcpConnected {
                connection.writable = true
                if session == nil { connection.connected = true }
            }
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    var acceptsStreams: Bool { !closed && !retiring && session.acceptsStreams }

    /// Takes no new stream from now on; closes when the streams in flight have ended.
    func retire() {
        retiring = true
        if streams.isEmpty { close() }
    }

    /// Starts `stream`'s request; false when this connection cannot take it.
    func open(_ stream: H2Stream, fields: [(name: [UInt8], value: [UInt8])], body: Bool) -> Int32? {
        guard let id = session.request(fields: fields, body: body) else { return nil }
        streams[id] = stream
        flush()
        return id
    }

    func resume(_ id: Int32) { session.resume(id) }
    func consume(_ id: Int32, _ count: Int) { session.consume(id, count) }

    /// The client side gave up on `id`: reset it upstream, forget it.
    func cancel(_ id: Int32) {
        guard streams.removeValue(forKey: id) != nil else { return }
        session.reset(id, code: 8)  // CANCEL
        flush()
    }

    // MARK: Events

    func handleEvent(_ events: UInt32) {
        guard !closed else { return }
        if events & cs_EPOLLOUT != 0 { writable = true }
        if events & (cs_EPOLLIN | cs_EPOLLRDHUP | cs_EPOLLHUP | cs_EPOLLERR) != 0 { readable = true }
        if events & (cs_EPOLLRDHUP | cs_EPOLLHUP | cs_EPOLLERR) != 0 { hangup = true }
        if !connected {
            if !tcpConnected {
                guard writable || readable else { return }
                guard Sys.socketError(fd) == 0 else {
                    close()
                    return
                }
                tcpConnected = true
                writable = true
            }
            if case .tls(let session) = transport {
                switch session.handshake() {
                case .pending: return
                case .failed:
                    close()
                    return
                case .done:
                    break
                }
            }
            connected = true
            writable = true
            readable = true
        }
        var rounds = 0
        while !closed && readable {
            rounds += 1
            if rounds > 16 {
                worker.loop.resumeSoon(self)
                break
            }
            let result: IOBuffer.ReadResult
            do {
                result = try transport.read(into: input, maxHeld: 64 * 1024)
            } catch {
                close()
                return
            }
            switch result {
            case .read(_, let filled):
                if !filled && !hangup { readable = false }
            case .wouldBlock:
                readable = false
            case .full:
                break
            case .endOfStream:
                close()
                return
            }
            do {
                try session.receive(input.readable)
            } catch {
                close()
                return
            }
            input.clear()
            if case .wouldBlock = result { break }
        }
        flush()
    }

    /// Moves nghttp2's frames onto the socket; goes round while it has more to say.
    func flush() {
        guard !closed, !flushing else { return }
        flushing = true
        defer { flushing = false }
        var rounds = 0
        while !closed && rounds < 8 {
            rounds += 1
            do {
                let out = output
                try session.send(budget: Self.highWater - output.readableBytes) { out.append($0) }
            } catch {
                close()
                return
            }
            guard connected, writable, !output.isEmpty else { break }
            do {
                if try !transport.write(from: output) { writable = false }
            } catch {
                close()
                return
            }
            guard writable, output.isEmpty, session.wantsWrite else { break }
        }
        if !toWake.isEmpty {
            let waking = toWake
            toWake.removeAll(keepingCapacity: true)
            for connection in waking where !connection.closed { connection.flushSession() }
        }
        if (!session.isAlive || (retiring && streams.isEmpty)) && output.isEmpty { close() }
    }

    // MARK: Session events

    func h2UpstreamField(_ id: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, trailer: Bool) {
        streams[id]?.upstreamField(name: name, value: value, trailer: trailer)
    }

    func h2UpstreamFieldsComplete(_ id: Int32, endStream: Bool, trailer: Bool) {
        streams[id]?.upstreamFieldsComplete(endStream: endStream, trailer: trailer)
    }

    func h2UpstreamData(_ id: Int32, _ bytes: UnsafeRawBufferPointer) {
        if let stream = streams[id] {
            stream.upstreamData(bytes)
        } else {
            session.consume(id, bytes.count)
        }
    }

    func h2UpstreamEnded(_ id: Int32) {
        streams[id]?.upstreamEnded()
    }

    func h2UpstreamClosed(_ id: Int32, errorCode: UInt32) {
        guard let stream = streams.removeValue(forKey: id) else { return }
        stream.upstreamStreamClosed(errorCode: errorCode)
    }

    func h2UpstreamRequestBody(_ id: Int32, into buffer: UnsafeMutableRawBufferPointer) -> H2BodyChunk {
        guard let stream = streams[id] else { return .bytes(count: 0, end: true, trailers: false) }
        return stream.upstreamRequestBody(into: buffer)
    }

    func close() {
        guard !closed else { return }
        closed = true
        worker.loop.close(fd)
        if worker.h2Upstream === self { worker.h2Upstream = nil }
        let open = streams
        streams.removeAll()
        for stream in open.values { stream.upstreamStreamClosed(errorCode: 2) }
    }
}
