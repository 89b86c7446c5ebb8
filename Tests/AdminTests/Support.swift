import Admin
import EventLoop
import Foundation
import Synchronization

/// An admin server on an ephemeral loopback port whose answers a test can change.
final class AdminFixture: Sendable {
    final class Answers: Sendable {
        let unmet = Mutex<[String]>([])
        let problems = Mutex<[String]>([])
    }

    let server: AdminServer
    let answers = Answers()

    func setUnmet(_ conditions: [String]) { answers.unmet.withLock { $0 = conditions } }
    func setProblems(_ problems: [String]) { answers.problems.withLock { $0 = problems } }

    var port: UInt16 { server.address.port }

    init(options: AdminServer.Options = .init()) throws {
        let answers = self.answers
        let routes = AdminRoutes(
            health: { HealthReport(problems: answers.problems.withLock { $0 }) },
            readiness: { answers.unmet.withLock { $0 } },
            metrics: { Array("# HELP t_up Up.\n# TYPE t_up gauge\nt_up 1\n".utf8) },
            config: { Array("{\"workers\": \"auto\"}\n".utf8) }
        )
        server = try AdminServer(address: SocketAddress(host: "127.0.0.1", port: 0)!, routes: routes, options: options)
        try server.start()
    }

    deinit {
        server.stop()
    }
}

/// What curl saw: status, headers (lower-cased names) and body.
struct CurlResult {
    let status: Int
    let headers: [String: String]
    let body: String
}

/// Runs curl against loopback (bounded by --max-time) and splits its `-i` output.
func curl(_ arguments: [String]) throws -> CurlResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["curl", "-sS", "-i", "--max-time", "10"] + arguments
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    let parts = text.components(separatedBy: "\r\n\r\n")
    let headLines = parts[0].components(separatedBy: "\r\n")
    let status = Int(headLines[0].split(separator: " ").dropFirst().first ?? "") ?? 0
    var headers: [String: String] = [:]
    for line in headLines.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return CurlResult(status: status, headers: headers, body: parts.dropFirst().joined(separator: "\r\n\r\n"))
}

/// Sends `request` on a fresh loopback connection and reads until the server closes it (or a
/// 10 s receive timeout passes). Returns what was read.
func exchange(_ port: UInt16, _ request: String) -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { return "connect failed: errno \(errno)" }
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
