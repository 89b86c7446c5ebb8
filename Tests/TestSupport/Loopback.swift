#if canImport(Glibc)
import Glibc
#endif

/// Plain blocking sockets on 127.0.0.1 for tests: an ephemeral listener, a client connection
/// with a receive timeout, and a whole request/response exchange.
public enum Loopback {
    /// A TCP socket bound to an ephemeral 127.0.0.1 port and listening (connections queue in the
    /// backlog until accepted, if ever), and that port. With `listening: false` it only holds
    /// the port (connections to it are refused).
    public static func listen(backlog: Int32 = 16, listening: Bool = true) -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(4))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        if listening { Glibc.listen(fd, backlog) }
        return (fd, UInt16(bigEndian: address.sin_port))
    }

    /// A connected client socket whose reads give up after `timeoutSeconds`; nil with errno set
    /// when the connection failed. With `source` (another 127.x.y.z address) the connection
    /// comes from there: a second loopback client stands in for another network.
    public static func connect(port: UInt16, timeoutSeconds: Int = 10, source: String? = nil) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                let saved = errno
                close(fd)
                errno = saved
                return nil
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let saved = errno
            close(fd)
            errno = saved
            return nil
        }
        return fd
    }

    /// Sends `request` on a fresh connection and reads until the server closes it or the receive
    /// timeout passes; "connect failed: errno N" when nobody listens.
    public static func exchange(port: UInt16, _ request: String) -> String {
        guard let fd = connect(port: port) else { return "connect failed: errno \(errno)" }
        defer { close(fd) }
        let bytes = Array(request.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            sent += n
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        // Bounded: at most 1000 reads.
        for _ in 0..<1000 {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            received += buffer[0..<n]
        }
        return String(decoding: received, as: UTF8.self)
    }
}
