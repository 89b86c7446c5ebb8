import EventLoop
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What one-request-per-connection tests miss: bodies on reused client and upstream
/// connections, and clients that half-close.
@Suite("Reused connections and half-closes", .serialized)
struct ReusedConnectionTests {
    static let chunkedPost = "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"

    @Test func chunkedRequestAfterAGetOnTheSameConnectionReachesTheBackend() throws {
        let harness = try Harness()
        let response = try harness.exchange("GET /first HTTP/1.1\r\nHost: a\r\n\r\n" + Self.chunkedPost, responses: 2)
        #expect(response.statuses == [200, 200])
        #expect(harness.received.contains("Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), "\(harness.received)")
    }

    @Test func chunkedRequestOnAPooledUpstreamConnectionReachesTheBackend() throws {
        let harness = try Harness()
        // The first connection leaves a warm upstream connection in the pool; the chunked
        // request on the second connection goes out on it.
        #expect(try harness.exchange("GET /warm HTTP/1.1\r\nHost: a\r\n\r\n").status == 200)
        let started = Sys.monotonicMillis()
        let response = try harness.exchange(Self.chunkedPost)
        #expect(response.status == 200)
        #expect(response.text.contains("\"body_bytes\":11"), "\(response)")
        #expect(Sys.monotonicMillis() - started < 900, "the chunked request waited for the pooled connection to time out")
        #expect(harness.received.components(separatedBy: "GET /warm").count == 2)
        #expect(harness.received.contains("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"))
    }

    @Test func contentLengthBodiesOnAKeptAliveConnectionStayInStep() throws {
        let harness = try Harness()
        let response = try harness.exchange(
            "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\none"
                + "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\ntwo"
                + "GET /c HTTP/1.1\r\nHost: a\r\n\r\n", responses: 3)
        #expect(response.statuses == [200, 200, 200])
        let seen = harness.received
        #expect(seen.contains("Content-Length: 3\r\n\r\nonePOST /b") || seen.contains("\r\n\r\none"), "\(seen)")
        #expect(seen.contains("\r\n\r\ntwo"))
        #expect(seen.contains("GET /c HTTP/1.1"))
    }

    @Test func aClientThatHalfClosesGetsItsAnswerAndThenTheClose() throws {
        // The Harness's idle timeout is 5 s; the close must come with the answer, not after it.
        let harness = try Harness()
        let started = Sys.monotonicMillis()
        let response = try harness.exchange("GET /half HTTP/1.1\r\nHost: a\r\n\r\n", halfClose: true)
        #expect(response.status == 200)
        #expect(response.closed)
        #expect(Sys.monotonicMillis() - started < 1500, "closed only after \(Sys.monotonicMillis() - started) ms")
    }

    @Test func aHalfCloseAfterPipelinedRequestsAnswersThemAll() throws {
        let harness = try Harness()
        let started = Sys.monotonicMillis()
        let response = try harness.exchange("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n", responses: 2, halfClose: true)
        #expect(response.statuses == [200, 200])
        #expect(response.closed)
        #expect(Sys.monotonicMillis() - started < 1500)
    }

    @Test func aHalfCloseWhileTheUpstreamIsThinkingStillGetsTheAnswerAndTheClose() throws {
        // The upstream is this test: it answers only after the client's FIN has reached the proxy.
        let (upstream, upstreamPort) = RawClient.bindEphemeral(listening: true)
        defer { close(upstream) }
        let harness = try Harness(upstreamPort: upstreamPort)
        let client = try RawClient.connect(port: harness.port)
        defer { close(client) }
        RawClient.send(client, Array("GET /think HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
        shutdown(client, Int32(SHUT_WR))
        let backend = accept(upstream, nil, nil)
        #expect(backend >= 0)
        defer { close(backend) }
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(backend, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var head = [UInt8](repeating: 0, count: 4096)
        let n = head.withUnsafeMutableBytes { recv(backend, $0.baseAddress, $0.count, 0) }
        #expect(n > 0 && String(decoding: head[0..<max(n, 0)], as: UTF8.self).hasPrefix("GET /think HTTP/1.1\r\n"))
        usleep(100_000)
        let started = Sys.monotonicMillis()
        RawClient.send(backend, Array("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nthought".utf8))
        let response = RawClient.read(client, responses: 1)
        #expect(response.status == 200)
        #expect(response.text.hasSuffix("thought"))
        #expect(response.closed)
        #expect(Sys.monotonicMillis() - started < 1500)
    }
}
