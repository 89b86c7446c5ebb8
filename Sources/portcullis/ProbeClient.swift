import EventLoop
#if canImport(Glibc)
import Glibc
#endif

/// A blocking HTTP/1.1 GET with one deadline for connecting, sending and reading the status
/// line, for `portcullis probe`. It reads no further than the status line: that is the answer.
enum ProbeClient {
    struct Status {
        let code: Int
        /// The status line without its CRLF, e.g. `HTTP/1.1 503 Service Unavailable`.
        let line: String
    }

    static func get(_ target: ProbeTarget, timeout: Duration) throws(ProbeError) -> Status {
        let deadline = Sys.monotonicMillis() + timeout.wholeMilliseconds
        var refused: [String] = []
        for address in target.addresses {
            do {
                return try get(target, at: address, deadline: deadline, timeout: timeout)
            } catch .refused(let refusing) {
                // localhost: the server may listen on the other loopback address.
                refused += refusing
            }
        }
        throw .refused(refused)
    }

    private static func get(_ target: ProbeTarget, at address: SocketAddress, deadline: Int64,
                            timeout: Duration) throws(ProbeError) -> Status {
        let fd: Int32
        do {
            fd = try Sys.socket(family: address.family)
        } catch {
            throw .system(error)
        }
        defer { Sys.close(fd) }
        let connected: Bool
        do {
            connected = try Sys.connect(fd, address)
        } catch {
            throw classify(error, address)
        }
        if !connected {
            try wait(fd, Int16(POLLOUT), deadline, timeout)
            let pending = Sys.socketError(fd)
            if pending != 0 { throw classify(SystemError("connect", errno: pending), address) }
        }

        let request = Array("GET \(target.target) HTTP/1.1\r\nHost: \(target.authority)\r\nUser-Agent: portcullis-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n".utf8)
        // Raw buffers rather than withUnsafeBytes closures, whose untyped rethrows would lose
        // the error types this function promises.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(request.count, 4096), alignment: 1)
        defer { buffer.deallocate() }
        guard let base = buffer.baseAddress else { throw .malformedResponse }
        buffer.copyBytes(from: request)
        var sent = 0
        while sent < request.count {
            try wait(fd, Int16(POLLOUT), deadline, timeout)
            do {
                if case .processed(let n) = try Sys.write(fd, base + sent, request.count - sent) { sent += n }
            } catch {
                throw .system(error)
            }
        }

        var received: [UInt8] = []
        while received.count < 8192 {
            if let end = received.firstIndex(of: UInt8(ascii: "\n")) { return try status(received[..<end]) }
            try wait(fd, Int16(POLLIN), deadline, timeout)
            let result: IOResult
            do {
                result = try Sys.read(fd, base, buffer.count)
            } catch {
                throw .system(error)
            }
            guard case .processed(let n) = result else { continue }
            guard n > 0 else { break }
            received += UnsafeRawBufferPointer(start: base, count: n)
        }
        if let end = received.firstIndex(of: UInt8(ascii: "\n")) { return try status(received[..<end]) }
        throw .malformedResponse
    }

    private static func classify(_ error: SystemError, _ address: SocketAddress) -> ProbeError {
        error.errno == ECONNREFUSED ? .refused([address.description]) : .system(error)
    }

    /// `HTTP/1.x NNN reason`.
    private static func status(_ line: ArraySlice<UInt8>) throws(ProbeError) -> Status {
        var text = String(decoding: line, as: UTF8.self)
        if text.hasSuffix("\r") { text.removeLast() }
        let parts = text.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3,
              let code = Int(parts[1]), code >= 100 else { throw .malformedResponse }
        return Status(code: code, line: text)
    }

    private static func wait(_ fd: Int32, _ events: Int16, _ deadline: Int64, _ timeout: Duration) throws(ProbeError) {
        while true {
            let left = deadline - Sys.monotonicMillis()
            guard left > 0 else { throw .timedOut(timeout) }
            let happened: Int16
            do {
                happened = try Sys.poll(fd, events: events, timeoutMillis: Int32(min(left, Int64(Int32.max))))
            } catch {
                throw .system(error)
            }
            if happened != 0 { return }
        }
    }
}
