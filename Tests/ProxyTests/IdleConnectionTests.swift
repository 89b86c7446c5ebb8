import EventLoop
import Foundation
import Proxy
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Connections borrow their buffers from the worker while they read or write and give them back
/// when they idle: many kept-alive connections are all served, hold no buffer between requests,
/// and bytes already read (a partial head, pipelined requests) are never lost on the way.
@Suite("Idle connections", .serialized)
struct IdleConnectionTests {
    static let request = Array("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n".utf8)

    /// Waits (bounded) until the proxy's connections hold `count` buffers; returns the last count.
    static func lent(_ harness: Harness, settlesAt count: Int, within millis: Int64 = 2000) -> Int {
        let deadline = Sys.monotonicMillis() + millis
        while harness.server.lentBuffers != count && Sys.monotonicMillis() < deadline { usleep(2_000) }
        return harness.server.lentBuffers
    }

    @Test func aThousandKeptAliveConnectionsAreServedAndHoldNoBufferBetweenRequests() throws {
        // Client and proxy share this process: two descriptors per connection, and upstreams.
        let limit = try #require(Sys.raiseOpenFileLimit())
        try #require(limit.soft >= 2_400, "needs an open-file limit of 2,400, have \(limit.soft) (hard \(limit.hard))")
        let count = 1_000
        let harness = try Harness(timeouts: "{request_header: 30s, idle: 30s, drain: 1s}", responseTimeout: "10s", recording: false)
        var fds: [Int32] = []
        defer { for fd in fds { close(fd) } }
        for _ in 0..<count { fds.append(try RawClient.connect(port: harness.port)) }
        #expect(waitUntil(5) { harness.server.live.clientConnections == count })
        #expect(Self.lent(harness, settlesAt: 0) == 0, "silent connections hold buffers")

        for round in 1...2 {
            // Every request is sent before any answer is read: hundreds are in flight at once.
            for fd in fds { RawClient.send(fd, Self.request) }
            var statuses: [Int: Int] = [:]
            for fd in fds { statuses[RawClient.read(fd, responses: 1, settleMillis: 0).status ?? 0, default: 0] += 1 }
            #expect(statuses == [200: count], "round \(round): \(statuses)")
            // Answered and idle: the clients, and the upstream connections back in the pool,
            // hold no buffer; every connection is still open.
            #expect(Self.lent(harness, settlesAt: 0) == 0, "round \(round): idle connections hold buffers")
            #expect(harness.server.live.clientConnections == count)
        }
        for fd in fds { close(fd) }
        fds.removeAll()
        #expect(ConnectionLifetimeTests.settle(harness) == 0)
    }

    @Test func aHeadSplitAcrossEventsKeepsItsFirstPartAndOnlyThatBuffer() throws {
        let harness = try Harness()
        let fd = try RawClient.connect(port: harness.port)
        defer { close(fd) }
        RawClient.send(fd, Array("GET /split HTTP/1.1\r\nHo".utf8))
        // The partial head is in the connection's input, the one buffer it holds (no upstream
        // connection exists yet).
        #expect(waitUntil(2) { harness.server.lentBuffers == 1 })
        usleep(20_000)
        #expect(harness.server.lentBuffers == 1)
        usleep(50_000)
        RawClient.send(fd, Array("st: a\r\nX-Second-Part: yes\r\n\r\n".utf8))
        let response = RawClient.read(fd, responses: 1, settleMillis: 0)
        #expect(response.status == 200, "\(response)")
        #expect(harness.received.contains("GET /split HTTP/1.1\r\n"))
        #expect(harness.received.contains("X-Second-Part: yes\r\n"))
        #expect(Self.lent(harness, settlesAt: 0) == 0)
    }

    @Test func pipelinedRequestsAndABodyOnAReusedConnectionSurviveTheBuffersGoingBack() throws {
        let harness = try Harness()
        let fd = try RawClient.connect(port: harness.port)
        defer { close(fd) }
        for round in 1...3 {
            // Three requests in one write, the second with a body: all read at once, answered in
            // turn, and the connection goes idle between the rounds.
            RawClient.send(fd, Array(("GET /p\(round)a HTTP/1.1\r\nHost: a\r\n\r\n"
                + "POST /p\(round)b HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
                + "GET /p\(round)c HTTP/1.1\r\nHost: a\r\n\r\n").utf8))
            let response = RawClient.read(fd, responses: 3, settleMillis: 0)
            #expect(response.statuses == [200, 200, 200], "round \(round): \(response)")
            #expect(response.text.contains("\"target\":\"/p\(round)c\""), "round \(round)")
            #expect(response.text.contains("\"body_bytes\":5"), "round \(round)")
            #expect(Self.lent(harness, settlesAt: 0) == 0, "round \(round)")
        }
        #expect(harness.received.components(separatedBy: "hello").count == 4)
    }
}
