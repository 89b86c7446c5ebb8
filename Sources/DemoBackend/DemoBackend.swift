public import EventLoop
import HTTP1
import CShims
public import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP/1.1 backend for the Quick start and load runs: it answers every request with a
/// JSON echo of what it received (method, target, headers), so a person can see exactly what
/// the proxy forwarded. `/bytes/N` answers N bytes, for throughput runs; `/status/N` answers
/// status N; `/eof` answers a body framed by closing; `/close` answers normally and then closes
/// without saying so; an Upgrade request is accepted with 101 and then echoed byte for byte.
public final class DemoBackend: @unchecked Sendable {
    /// Every byte received, in order, when recording (tests assert what the proxy forwarded).
    public let recorded = Mutex<[UInt8]>([])
    public let requestCount = Atomic<Int>(0)
    let recording: Bool

    // Unchecked: the loop and connections are touched only by the backend's own thread after
    // start(); other threads call stop(), which uses the loop's cross-thread stop.
    let loop: EventLoop
    let listenFD: Int32
    public let address: SocketAddress
    private var thread = pthread_t()

    public init(host: String, port: UInt16, recording: Bool = false) throws(SystemError) {
        self.recording = recording
        guard let address = SocketAddress(host: host, port: port) else { throw SystemError("inet_pton", errno: EINVAL) }
        loop = try EventLoop()
        listenFD = try Sys.socket(family: address.family)
        try Sys.setOption(listenFD, SOL_SOCKET, SO_REUSEADDR, 1)
        try Sys.setOption(listenFD, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        try Sys.bind(listenFD, address)
        try Sys.listen(listenFD, backlog: 1024)
        self.address = try Sys.localAddress(listenFD)
        try loop.register(listenFD, Acceptor(backend: self))
    }

    public func start() {
        thread = (try? Sys.startThread { [self] in try? loop.run() }) ?? pthread_t()
    }

    /// Runs on the calling thread until stopped.
    public func run() throws(SystemError) {
        try loop.run()
    }

    public func stop() {
        loop.stop()
        pthread_join(thread, nil)
    }

    final class Acceptor: EventHandler {
        unowned let backend: DemoBackend
        var peer = sockaddr_storage()
        init(backend: DemoBackend) { self.backend = backend }

        func handleEvent(_ events: UInt32) {
            while let fd = try? Sys.accept(backend.listenFD, &peer) {
                let connection = Connection(fd: fd, backend: backend)
                guard (try? backend.loop.register(fd, connection)) != nil else {
                    Sys.close(fd)
                    continue
                }
                connection.handleEvent(cs_EPOLLIN)
            }
        }
    }

    final class Connection: EventHandler {
        let fd: Int32
        unowned let backend: DemoBackend
        var loop: EventLoop { backend.loop }
        var tunnel = false
        var discarding = 0
        let pending = IOBuffer(capacity: 1024)
        let input = IOBuffer(capacity: 16 * 1024)
        let output = IOBuffer(capacity: 16 * 1024)
        var parser = RequestParser()
        var head = RequestHead()
        var closed = false

        init(fd: Int32, backend: DemoBackend) {
            self.fd = fd
            self.backend = backend
        }

        func handleEvent(_ events: UInt32) {
            guard !closed else { return }
            while true {
                let before = input.writerIndex
                guard let result = try? input.read(from: fd, maxHeld: 1 << 20) else { finish(); return }
                if result == .endOfStream { finish(); return }
                guard case .read = result else { break }
                if backend.recording {
                    let fresh = UnsafeRawBufferPointer(start: input.base + before, count: input.writerIndex - before)
                    backend.recorded.withLock { $0.append(contentsOf: fresh) }
                }
                if tunnel {
                    output.append(input.readable)
                    input.clear()
                    continue
                }
                if !serve() { return }
            }
            _ = serve()
            _ = try? output.write(to: fd)
        }

        /// Answers every complete request in the buffer; false once the connection is closed.
        private func serve() -> Bool {
            while true {
                if discarding > 0 {
                    // A large body is counted and dropped as it streams in, never held whole.
                    let take = min(discarding, input.readableBytes)
                    input.consume(take)
                    discarding -= take
                    guard discarding == 0 else { return true }
                    output.append(pending.readable)
                    pending.clear()
                }
                let complete: Bool
                do {
                    complete = try parser.parse(input.readable, into: &head)
                } catch {
                    output.append("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    finish()
                    return false
                }
                guard complete else { return true }
                var bodyLength = 0
                var decodedBodyLength: Int?
                if case .contentLength(let n) = head.framing {
                    if n > 65_536 && input.readableBytes < head.length + Int(n) {
                        backend.requestCount.add(1, ordering: .relaxed)
                        respond(body: Int(n), into: pending)
                        parser.reset()
                        input.consume(head.length)
                        discarding = Int(n)
                        continue
                    }
                    guard input.readableBytes >= head.length + Int(n) else { return true }
                    bodyLength = Int(n)
                } else if head.framing == .chunked {
                    var decoder = ChunkedDecoder()
                    var done = false
                    var data = 0
                    let bytes = UnsafeRawBufferPointer(rebasing: input.readable[head.length...])
                    guard let used = try? decoder.decode(bytes, { event in
                        switch event {
                        case .data(let range): data += range.count
                        case .end: done = true
                        }
                    }) else {
                        finish()
                        return false
                    }
                    guard done else { return true }
                    // The request is consumed by its encoded length; the echo reports the data.
                    bodyLength = used
                    decodedBodyLength = data
                }
                backend.requestCount.add(1, ordering: .relaxed)
                if head.upgrade {
                    output.append("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
                    input.consume(head.length)
                    tunnel = true
                    output.append(input.readable)
                    input.clear()
                    return true
                }
                let path = UnsafeRawBufferPointer(rebasing: input.readable[head.path])
                if path.elementsEqual("/eof".utf8) {
                    // A response framed by the end of the connection.
                    output.append("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end\n")
                    finish()
                    return false
                }
                respond(body: decodedBodyLength ?? bodyLength)
                parser.reset()
                if path.elementsEqual("/close".utf8) {
                    // Keep-alive promised, connection closed anyway: a stale pooled connection.
                    finish()
                    return false
                }
                input.consume(head.length + bodyLength)
                if !head.keepAlive { finish(); return false }
            }
        }

        private func respond(body: Int) {
            respond(body: body, into: output)
        }

        private func respond(body: Int, into output: IOBuffer) {
            let bytes = input.readable
            let target = UnsafeRawBufferPointer(rebasing: bytes[head.target])
            if target.starts(with: "/bytes/".utf8), let size = Int(String(decoding: target.dropFirst(7), as: UTF8.self)), size >= 0, size <= 64 << 20 {
                output.append("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ")
                output.append(decimal: UInt64(size))
                output.append("\r\n\r\n")
                output.reserve(size)
                (output.base + output.writerIndex).initializeMemory(as: UInt8.self, repeating: UInt8(ascii: "x"), count: size)
                output.advanceWriter(size)
                return
            }
            if target.starts(with: "/status/".utf8), let status = Int(String(decoding: target.dropFirst(8), as: UTF8.self)),
               status >= 200, status <= 599 {
                output.append("HTTP/1.1 ")
                output.append(decimal: UInt64(status))
                output.append(" Status\r\n")
                if status == 204 || status == 304 {
                    output.append("\r\n")
                } else {
                    output.append("Content-Length: 7\r\n\r\nstatus\n")
                }
                return
            }
            let json = IOBuffer(capacity: 1024)
            json.append("{\"method\":\"")
            appendJSON(UnsafeRawBufferPointer(rebasing: bytes[head.methodRange]), to: json)
            json.append("\",\"target\":\"")
            appendJSON(target, to: json)
            json.append("\",\"body_bytes\":")
            json.append(decimal: UInt64(body))
            json.append(",\"headers\":[")
            for (i, field) in head.headers.enumerated() {
                json.append(i == 0 ? "[\"" : ",[\"")
                appendJSON(UnsafeRawBufferPointer(rebasing: bytes[field.name]), to: json)
                json.append("\",\"")
                appendJSON(UnsafeRawBufferPointer(rebasing: bytes[field.value]), to: json)
                json.append("\"]")
            }
            json.append("]}\n")
            output.append("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ")
            output.append(decimal: UInt64(json.readableBytes))
            output.append(head.keepAlive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n")
            if head.method != .head { output.append(json.readable) }
        }

        private func appendJSON(_ bytes: UnsafeRawBufferPointer, to out: IOBuffer) {
            for b in bytes {
                if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") { out.append(byte: UInt8(ascii: "\\")) }
                out.append(byte: b < 0x20 || b >= 0x7F ? UInt8(ascii: "?") : b)
            }
        }

        private func finish() {
            _ = try? output.write(to: fd)
            closed = true
            loop.close(fd)
        }
    }
}
