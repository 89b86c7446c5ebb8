import Admin
import EventLoop
import Foundation
import Synchronization
import TestSupport
import Testing

/// `portcullis probe` against a real admin listener and against sockets that refuse or stall.
@Suite("portcullis probe")
struct ProbeTests {
    let cli = CLITests()

    final class Readiness: Sendable {
        let unmet = Mutex<[String]>([])
    }

    func adminServer(host: String = "127.0.0.1", readiness: Readiness = Readiness()) throws -> AdminServer {
        let routes = AdminRoutes(health: { .healthy }, readiness: { readiness.unmet.withLock { $0 } },
                                 metrics: { [] }, config: { [] })
        let server = try AdminServer(address: SocketAddress(host: host, port: 0)!, routes: routes)
        try server.start()
        return server
    }

    @Test func a2xxAnswerExitsZero() throws {
        let server = try adminServer()
        defer { server.stop() }
        let result = try cli.run(["probe", "http://127.0.0.1:\(server.address.port)/healthz"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "HTTP/1.1 200 OK\n")
        #expect(result.stderr.isEmpty)
        let localhost = try cli.run(["probe", "--timeout", "5s", "http://localhost:\(server.address.port)/readyz?verbose"])
        #expect(localhost.status == 0, "\(localhost.stderr)")
    }

    @Test func ipv6LiteralsAreProbed() throws {
        guard let server = try? adminServer(host: "::1") else { return }  // no IPv6 loopback here
        defer { server.stop() }
        let result = try cli.run(["probe", "http://[::1]:\(server.address.port)/healthz"])
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test func anotherStatusExitsOneNamingIt() throws {
        let readiness = Readiness()
        readiness.unmet.withLock { $0 = ["issuer https://idp: no key set yet"] }
        let server = try adminServer(readiness: readiness)
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.address.port)/readyz"
        let waiting = try cli.run(["probe", url])
        #expect(waiting.status == 1)
        #expect(waiting.stderr == "portcullis probe: \(url): answered HTTP/1.1 503 Service Unavailable\n")
        let missing = try cli.run(["probe", "http://127.0.0.1:\(server.address.port)/nope"])
        #expect(missing.status == 1)
        #expect(missing.stderr.hasSuffix("answered HTTP/1.1 404 Not Found\n"))
        readiness.unmet.withLock { $0 = [] }
        #expect(try cli.run(["probe", url]).status == 0)
    }

    @Test func aRefusedConnectionExitsOne() throws {
        // Listening but never accepting: connecting works, no answer ever comes.
        let (fd, port) = Loopback.listen()
        close(fd)
        let result = try cli.run(["probe", "http://127.0.0.1:\(port)/healthz"])
        #expect(result.status == 1)
        #expect(result.stderr == "portcullis probe: http://127.0.0.1:\(port)/healthz: connection refused at 127.0.0.1:\(port)\n")
    }

    @Test func noAnswerWithinTheTimeoutExitsOne() throws {
        // Listening but never accepting: connecting works, no answer ever comes.
        let (fd, port) = Loopback.listen()
        defer { close(fd) }
        let result = try cli.run(["probe", "--timeout", "300ms", "http://127.0.0.1:\(port)/healthz"])
        #expect(result.status == 1)
        #expect(result.stderr.hasSuffix(": no answer within 300ms\n"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test func badURLsAndTimeoutsExitOneWithOneLine() throws {
        let cases: [([String], String)] = [
            (["probe", "https://127.0.0.1:9901/healthz"], "bad URL: 'https://127.0.0.1:9901/healthz' is not http://host:port/path"),
            (["probe", "http://admin.internal:9901/healthz"], "bad URL: 'admin.internal' is not a numeric IPv4 or IPv6 address or localhost"),
            (["probe", "http://127.0.0.1:99999/"], "bad URL: '99999' is not a port"),
            (["probe", "http://user@127.0.0.1:9901/"], "bad URL: user information"),
            (["probe", "http://[::1:9901/"], "bad URL: '[::1:9901' has an unclosed '['"),
            (["probe", "--timeout", "soon", "http://127.0.0.1:9901/"], "bad --timeout 'soon'"),
        ]
        for (arguments, message) in cases {
            let result = try cli.run(arguments)
            #expect(result.status == 1, "\(arguments)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
            #expect(!result.stderr.contains("Fatal error"))
        }
    }
}
