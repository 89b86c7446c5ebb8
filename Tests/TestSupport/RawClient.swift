import EventLoop
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking loopback HTTP/1.1 client that sends exact bytes and reads what comes back, for
/// tests that must see what a proxy does byte for byte (and whether it closes).
public struct RawResponse: CustomStringConvertible {
    public var description: String { "closed: \(closed), bytes: \(text.debugDescription)" }
    public let bytes: [UInt8]
    public var text: String { String(decoding: bytes, as: UTF8.self) }
    /// Status codes of every response in the stream, in order (1xx included).
    public var statuses: [Int] {
        var result: [Int] = []
        var search = text[...]
        while let range = search.range(of: "HTTP/1.1 ") {
            let code = search[range.upperBound...].prefix(3)
            if let value = Int(code) { result.append(value) }
            search = search[range.upperBound...]
        }
        return result
    }
    public var status: Int? { statuses.first(where: { $0 >= 200 }) }
    /// Whether the proxy closed the connection after answering.
    public var closed: Bool

    public init(bytes: [UInt8], closed: Bool) {
        self.bytes = bytes
        self.closed = closed
    }
}

public enum RawClient {
    public static func connect(port: UInt16, from source: String? = nil) throws -> Int32 {
        guard let fd = Loopback.connect(port: port, timeoutSeconds: 3, source: source) else { throw SystemError("connect", errno: errno) }
        return fd
    }

    /// A socket bound to an ephemeral loopback port (listening when asked), and that port.
    public static func bindEphemeral(listening: Bool) -> (Int32, UInt16) {
        let bound = Loopback.listen(backlog: 8, listening: listening)
        return (bound.fd, bound.port)
    }

    public static func send(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// `from`: the client's loopback source address (default 127.0.0.1).
    public static func exchange(port: UInt16, bytes: [UInt8], responses: Int, halfClose: Bool, from source: String? = nil) throws -> RawResponse {
        let fd = try connect(port: port, from: source)
        defer { Glibc.close(fd) }
        send(fd, bytes)
        if halfClose { shutdown(fd, Int32(SHUT_WR)) }
        return read(fd, responses: responses)
    }

    /// Reads until EOF, a timeout, or `responses` complete final responses (then waits up to
    /// `settleMillis` to see whether the proxy closes).
    public static func read(_ fd: Int32, responses: Int, settleMillis: Int32 = 300) -> RawResponse {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let deadline = Sys.monotonicMillis() + 3000
        while Sys.monotonicMillis() < deadline {
            let n = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return RawResponse(bytes: received, closed: true) }
            if n < 0 { break }
            received += buffer[0..<n]
            if completeResponses(received) >= responses {
                // Wait a moment for the end of the connection, so tests can see a close.
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                if settleMillis > 0, poll(&poller, 1, settleMillis) == 1 {
                    let m = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
                    if m == 0 { return RawResponse(bytes: received, closed: true) }
                    if m > 0 { received += buffer[0..<m] }
                }
                break
            }
        }
        return RawResponse(bytes: received, closed: false)
    }

    /// Counts complete non-1xx responses framed by Content-Length (enough for these tests).
    public static func completeResponses(_ bytes: [UInt8]) -> Int {
        let text = String(decoding: bytes, as: UTF8.self)
        var count = 0
        var rest = text[...]
        while let headEnd = rest.range(of: "\r\n\r\n") {
            let head = rest[..<headEnd.lowerBound]
            var bodyLength = 0
            for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                bodyLength = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
            }
            let isInformational = head.hasPrefix("HTTP/1.1 1")
            let bodyStart = headEnd.upperBound
            guard rest.utf8.distance(from: bodyStart, to: rest.endIndex) >= bodyLength else { break }
            let bodyEnd = rest.utf8.index(bodyStart, offsetBy: bodyLength)
            if !isInformational { count += 1 }
            rest = rest[bodyEnd...]
        }
        return count
    }
}
