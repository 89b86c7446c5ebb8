import Admin
import EventLoop
import Foundation
import TestSupport
import Testing

@Suite("admin listener")
struct AdminTests {
    @Test func eachRouteAnswersWithItsStatusTypeAndBody() throws {
        let admin = try AdminFixture()
        let base = "http://127.0.0.1:\(admin.port)"

        let health = try curl(["\(base)/healthz"])
        #expect(health.status == 200)
        #expect(health.body == "ok\n")
        #expect(health.headers["content-type"] == "text/plain; charset=utf-8")
        #expect(health.headers["cache-control"] == "no-store")

        let ready = try curl(["\(base)/readyz"])
        #expect(ready.status == 200)
        #expect(ready.body == "ready\n")

        let metrics = try curl(["\(base)/metrics"])
        #expect(metrics.status == 200)
        #expect(metrics.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        #expect(metrics.body == "# HELP t_up Up.\n# TYPE t_up gauge\nt_up 1\n")
        #expect(metrics.headers["content-length"] == String(metrics.body.utf8.count))

        let config = try curl(["\(base)/config"])
        #expect(config.status == 200)
        #expect(config.headers["content-type"] == "application/json")
        #expect(config.body == "{\"workers\": \"auto\"}\n")

        // A query string does not change the route.
        #expect(try curl(["\(base)/metrics?name[]=t_up"]).status == 200)
    }

    @Test func unknownPathsAndMethodsAndHEAD() throws {
        let admin = try AdminFixture()
        let base = "http://127.0.0.1:\(admin.port)"
        let missing = try curl(["\(base)/nope"])
        #expect(missing.status == 404)
        #expect(try curl(["\(base)/healthz/"]).status == 404)

        let post = try curl(["-X", "POST", "-d", "x=1", "\(base)/metrics"])
        #expect(post.status == 405)
        #expect(post.headers["allow"] == "GET, HEAD")
        #expect(post.headers["connection"] == "close")
        #expect(try curl(["-X", "DELETE", "\(base)/config"]).status == 405)

        let head = exchange(admin.port, "HEAD /config HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(head.contains("Content-Length: 20\r\n"))
        #expect(head.hasSuffix("\r\n\r\n"))
    }

    @Test func garbageGets400AndTheConnectionIsClosed() throws {
        let admin = try AdminFixture()
        // exchange() reads until the server closes: getting an answer at all shows it closed.
        let garbage = exchange(admin.port, "GARBAGE\r\n\r\n")
        #expect(garbage.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(garbage.contains("Connection: close\r\n"))
        let noHost = exchange(admin.port, "GET /healthz HTTP/1.1\r\n\r\n")
        #expect(noHost.hasPrefix("HTTP/1.1 400 "))
        let smuggle = exchange(admin.port, "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
        #expect(smuggle.hasPrefix("HTTP/1.1 400 "))
        let huge = exchange(admin.port, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 10_000) + "\r\n\r\n")
        #expect(huge.hasPrefix("HTTP/1.1 431 "))
        // The server is still there for the next client.
        #expect(try curl(["http://127.0.0.1:\(admin.port)/healthz"]).status == 200)
    }

    @Test func keepAliveServesPipelinedRequestsInOrder() throws {
        let admin = try AdminFixture()
        let answer = exchange(admin.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
            + "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        // Bodies end in a bare newline, so the next status line starts after one.
        let statuses = answer.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("HTTP/1.1 ") }
        #expect(statuses == ["HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found", "HTTP/1.1 200 OK"])
        #expect(answer.hasSuffix("ready\n"))
    }

    @Test func readinessFlipsFrom503NamingTheConditionsTo200() throws {
        let admin = try AdminFixture()
        let url = "http://127.0.0.1:\(admin.port)/readyz"
        admin.setUnmet(["listeners not bound yet", "issuer https://idp.example.com: no key set yet"])
        let waiting = try curl([url])
        #expect(waiting.status == 503)
        #expect(waiting.body == "listeners not bound yet\nissuer https://idp.example.com: no key set yet\n")
        admin.setUnmet(["issuer https://idp.example.com: no key set yet"])
        #expect(try curl([url]).body == "issuer https://idp.example.com: no key set yet\n")
        admin.setUnmet([])
        let ready = try curl([url])
        #expect(ready.status == 200)
        #expect(ready.body == "ready\n")
    }

    @Test func anUnhealthyReportIs503WithItsProblems() throws {
        let admin = try AdminFixture()
        admin.setProblems(["worker 1 has not turned its loop for 12s"])
        let health = try curl(["http://127.0.0.1:\(admin.port)/healthz"])
        #expect(health.status == 503)
        #expect(health.body == "worker 1 has not turned its loop for 12s\n")
    }

    @Test func anIdleConnectionIsClosed() throws {
        let admin = try AdminFixture(options: .init(idleTimeout: .milliseconds(100)))
        // Nothing sent: the server closes it, so this read ends (well inside its 10 s bound).
        let silent = exchange(admin.port, "")
        #expect(silent.isEmpty)
        let partial = exchange(admin.port, "GET /healthz HTTP/1.1\r\nHost:")
        #expect(partial.isEmpty)
    }

    @Test func aLargeAnswerIsWrittenWholeAcrossPartialWrites() throws {
        let big = [UInt8](repeating: UInt8(ascii: "m"), count: 4 << 20)
        let routes = AdminRoutes(health: { .healthy }, readiness: { [] }, metrics: { big }, config: { [] })
        let server = try AdminServer(address: SocketAddress(host: "127.0.0.1", port: 0)!, routes: routes)
        try server.start()
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.address.port)/metrics"
        // Two on one connection: the second is answered only after the first has left.
        let answer = exchange(server.address.port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(answer.utf8.count > 2 * big.count)
        #expect(answer.components(separatedBy: "HTTP/1.1 200 OK").count == 3)
        #expect(try curl([url]).body.utf8.count == big.count)
    }

    @Test func aTakenPortIsAThrownErrorWithErrno() throws {
        let admin = try AdminFixture()
        let routes = AdminRoutes(health: { .healthy }, readiness: { [] }, metrics: { [] }, config: { [] })
        #expect(throws: SystemError("bind", errno: EADDRINUSE)) {
            _ = try AdminServer(address: SocketAddress(host: "127.0.0.1", port: admin.port)!, routes: routes)
        }
    }

    @Test func stopClosesTheListenerAndIsIdempotent() throws {
        let routes = AdminRoutes(health: { .healthy }, readiness: { [] }, metrics: { [] }, config: { [] })
        let server = try AdminServer(address: SocketAddress(host: "127.0.0.1", port: 0)!, routes: routes)
        try server.start()
        let port = server.address.port
        // A connection left open across stop() is closed by it.
        let fd = try #require(Loopback.connect(port: port))
        defer { close(fd) }
        #expect(try curl(["http://127.0.0.1:\(port)/healthz"]).status == 200)
        server.stop()
        server.stop()
        #expect(exchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").hasPrefix("connect failed"))
        var byte: UInt8 = 0
        #expect(recv(fd, &byte, 1, 0) == 0)
        // Never started: stop only closes.
        let unstarted = try AdminServer(address: SocketAddress(host: "127.0.0.1", port: 0)!, routes: routes)
        unstarted.stop()
    }
}
