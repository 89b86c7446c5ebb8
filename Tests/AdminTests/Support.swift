import Admin
import EventLoop
import Foundation
import Synchronization
import TestSupport

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

func exchange(_ port: UInt16, _ request: String) -> String {
    Loopback.exchange(port: port, request)
}
