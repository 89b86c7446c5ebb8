public import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A tiny HTTP/1.1 server on 127.0.0.1 for the fetcher's tests: canned responses by path,
/// request counts, and a switch to fail. One connection at a time, closed after each response.
public final class TestHTTPServer: @unchecked Sendable {
    // Unchecked: `routes`, `hits` and `failing` are Mutex/Atomic; `fd` and `thread` are set in
    // init and read by the owner thread only.
    public struct Route: Sendable {
        public var status: Int = 200
        public var body: [UInt8]
        public var headers: [String] = []

        public init(status: Int = 200, body: [UInt8], headers: [String] = []) {
            self.status = status
            self.body = body
            self.headers = headers
        }
    }

    public let routes = Mutex<[String: Route]>([:])
    public let hits = Mutex<[String: Int]>([:])
    public let failing = Atomic<Bool>(false)
    public let port: UInt16
    private let fd: Int32
    private var thread = pthread_t()
    private let stopping = Atomic<Bool>(false)

    public init() {
        let listener = Loopback.listen(backlog: 16)
        fd = listener.fd
        port = listener.port
        let box = Unmanaged.passRetained(self)
        pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            Unmanaged<TestHTTPServer>.fromOpaque(raw).takeRetainedValue().serve()
            return nil
        }, box.toOpaque())
    }

    public func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    public func set(_ path: String, _ route: Route) { routes.withLock { $0[path] = route } }
    public func count(_ path: String) -> Int { hits.withLock { $0[path] ?? 0 } }

    public func stop() {
        stopping.store(true, ordering: .relaxed)
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        pthread_join(thread, nil)
    }

    private func serve() {
        while !stopping.load(ordering: .relaxed) {
            let client = accept(fd, nil, nil)
            if client < 0 { if stopping.load(ordering: .relaxed) { return } else { continue } }
            handle(client)
            close(client)
        }
    }

    private func handle(_ client: Int32) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !request.suffix(4).elementsEqual([13, 10, 13, 10]) {
            let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return }
            request += buffer[0..<n]
        }
        let line = String(decoding: request.prefix { $0 != 13 }, as: UTF8.self)
        let path = line.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
        hits.withLock { $0[path, default: 0] += 1 }
        if failing.load(ordering: .relaxed) { return }  // closes without a response
        let route = routes.withLock { $0[path] } ?? Route(status: 404, body: Array("not found".utf8))
        var head = "HTTP/1.1 \(route.status) X\r\nContent-Length: \(route.body.count)\r\nConnection: close\r\n"
        for header in route.headers { head += header + "\r\n" }
        let bytes = Array((head + "\r\n").utf8) + route.body
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }
}
