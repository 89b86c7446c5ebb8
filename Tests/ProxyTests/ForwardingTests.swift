import TestSupport
import Testing
import Config
import Proxy
#if canImport(Glibc)
import Glibc
#endif

/// What a well-formed request becomes on its way to the backend, and what comes back.
@Suite("Forwarding", .serialized)
struct ForwardingTests {
    @Test func hopByHopAndClientIdentityHeadersNeverReachTheBackend() throws {
        let harness = try Harness()
        let response = try harness.exchange("""
        GET /a?b=c HTTP/1.1\r
        Host: svc\r
        Connection: keep-alive, X-Secret\r
        X-Secret: drop-me\r
        Keep-Alive: timeout=5\r
        Proxy-Connection: keep-alive\r
        TE: trailers\r
        Trailer: X-T\r
        X-MS-CLIENT-PRINCIPAL: forged\r
        x-ms-client-principal-id: forged\r
        X-Ms-Client-Principal-Name: forged\r
        X-Forwarded-Proto: https\r
        X-Forwarded-Host: evil\r
        X-Kept: yes\r
        \r

        """)
        #expect(response.status == 200)
        let seen = harness.received
        #expect(seen.hasPrefix("GET /a?b=c HTTP/1.1\r\n"))
        #expect(seen.contains("X-Kept: yes\r\n"))
        #expect(seen.contains("X-Forwarded-Proto: http\r\n"))
        #expect(seen.contains("X-Forwarded-Host: svc\r\n"))
        for gone in ["x-secret", "keep-alive", "proxy-connection", "te:", "trailer:", "x-ms-client-principal", "evil", "https", "connection:"] {
            #expect(!seen.lowercased().contains(gone), "\(gone) reached the backend: \(seen)")
        }
    }

    @Test func xForwardedForIsJoinedAndThePeerAppended() throws {
        let harness = try Harness()
        _ = try harness.exchange("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2, 3.3.3.3\r\n\r\n")
        #expect(harness.received.contains("X-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3, 127.0.0.1\r\n"))
        #expect(harness.received.components(separatedBy: "X-Forwarded-For").count == 2)
    }

    @Test func contentLengthBodyIsStreamedExactly() throws {
        let harness = try Harness()
        let response = try harness.exchange("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world")
        #expect(response.status == 200)
        #expect(harness.received.hasSuffix("Content-Length: 11\r\n\r\nhello world"))
        #expect(response.text.contains("\"body_bytes\":11"))
    }

    @Test func chunkedBodyKeepsItsTrailersAsTrailersAndDropsExtensions() throws {
        let harness = try Harness()
        let response = try harness.exchange("POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=\"x\"\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: 42\r\nContent-Length: 5\r\n\r\n")
        #expect(response.status == 200)
        let seen = harness.received
        #expect(seen.contains("Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: 42\r\n\r\n"), "\(seen)")
        #expect(!seen.contains("ext="))
        // A framing field in the trailer section is dropped, never merged into the head.
        #expect(!seen.contains("Content-Length: 5"))
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let harness = try Harness()
        let response = try harness.exchange("GET /one HTTP/1.1\r\nHost: a\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\n\r\nGET /three HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", responses: 3)
        #expect(response.statuses == [200, 200, 200])
        let text = response.text
        let one = try #require(text.range(of: "\"/one\""))
        let two = try #require(text.range(of: "\"/two\""))
        let three = try #require(text.range(of: "\"/three\""))
        #expect(one.lowerBound < two.lowerBound && two.lowerBound < three.lowerBound)
        #expect(response.closed)
    }

    @Test func http10GetsItsConnectionClosed() throws {
        let harness = try Harness()
        let response = try harness.exchange("GET /old HTTP/1.0\r\n\r\n")
        #expect(response.status == 200)
        #expect(response.closed)
        #expect(harness.received.hasPrefix("GET /old HTTP/1.1\r\n"))
    }

    @Test func http10KeepAliveIsHonoured() throws {
        let harness = try Harness()
        let response = try harness.exchange("GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n", responses: 2)
        #expect(response.statuses == [200, 200])
        #expect(response.text.contains("Connection: keep-alive"))
        #expect(response.closed)
    }

    @Test func expectContinueIsAnsweredBeforeTheBodyIsSent() throws {
        let harness = try Harness()
        let fd = try RawClient.connect(port: harness.port)
        defer { close(fd) }
        RawClient.send(fd, Array("PUT /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n".utf8))
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        #expect(String(decoding: buffer[0..<max(n, 0)], as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\n")
        RawClient.send(fd, Array("data".utf8))
        let response = RawClient.read(fd, responses: 1)
        #expect(response.status == 200)
        #expect(!harness.received.lowercased().contains("expect"))
        #expect(harness.received.hasSuffix("\r\n\r\ndata"))
    }

    @Test func headAnd204And304HaveNoBody() throws {
        let harness = try Harness()
        let head = try harness.exchange("HEAD /h HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        #expect(head.status == 200)
        #expect(head.text.hasSuffix("\r\n\r\n"))
        #expect(head.text.contains("Content-Length: "))
        let noContent = try harness.exchange("GET /status/204 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        #expect(noContent.status == 204)
        #expect(noContent.text.hasSuffix("\r\n\r\n"))
        #expect(!noContent.text.contains("Content-Length"))
        let notModified = try harness.exchange("GET /status/304 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        #expect(notModified.status == 304)
        #expect(notModified.text.hasSuffix("\r\n\r\n"))
    }

    @Test func largeResponseBodiesStreamThrough() throws {
        let harness = try Harness()
        let response = try harness.exchange("GET /bytes/3000000 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        #expect(response.status == 200)
        let body = response.bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).last ?? []
        #expect(body.count == 3_000_000)
        #expect(body.allSatisfy { $0 == UInt8(ascii: "x") })
    }

    @Test func largeRequestBodiesStreamThrough() throws {
        let harness = try Harness()
        let body = String(repeating: "y", count: 4_000_000)
        let response = try harness.exchange("PUT /big HTTP/1.1\r\nHost: a\r\nContent-Length: 4000000\r\nConnection: close\r\n\r\n" + body)
        #expect(response.status == 200)
        #expect(response.text.contains("\"body_bytes\":4000000"))
        #expect(harness.receivedCount > 4_000_000)
    }

    @Test func websocketUpgradeBecomesATunnel() throws {
        let harness = try Harness()
        let fd = try RawClient.connect(port: harness.port)
        defer { close(fd) }
        RawClient.send(fd, Array("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n".utf8))
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        let head = String(decoding: buffer[0..<max(n, 0)], as: UTF8.self)
        #expect(head.hasPrefix("HTTP/1.1 101 "))
        #expect(head.contains("Upgrade: websocket"))
        RawClient.send(fd, Array("ping-bytes".utf8))
        let m = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        #expect(String(decoding: buffer[0..<max(m, 0)], as: UTF8.self) == "ping-bytes")
        #expect(harness.received.contains("Upgrade: websocket\r\n"))
        #expect(harness.received.contains("Connection: upgrade\r\n"))
    }

    @Test func refusedUpstreamIs502() throws {
        // A port that was just bound and closed again: nothing listens there.
        let (probe, port) = RawClient.bindEphemeral(listening: false)
        close(probe)
        let harness = try Harness(upstreamPort: port)
        let response = try harness.exchange("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(response.status == 502)
        #expect(response.text.hasSuffix("upstream unavailable\n"))
    }

    @Test func silentUpstreamIs504() throws {
        // A listener that never accepts: the kernel completes the handshake, nobody answers.
        let (silent, port) = RawClient.bindEphemeral(listening: true)
        defer { close(silent) }
        let harness = try Harness(upstreamPort: port)
        let response = try harness.exchange("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(response.status == 504)
        #expect(response.text.hasSuffix("upstream timed out\n"))
    }

    @Test func drainLetsTheRequestInFlightFinish() throws {
        let backend = try DemoBackendHandle()
        let config = try PortcullisConfig.parse(yaml: """
        listeners: [{address: "127.0.0.1:0"}]
        upstream: {url: "http://127.0.0.1:\(backend.port)"}
        workers: 1
        log: {access: false}
        """)
        let server = try ProxyServer(config: config, pipeline: try PipelineFactory(config: config))
        try server.start()
        let port = server.boundAddresses[0].port
        let fd = try RawClient.connect(port: port)
        defer { close(fd) }
        // Half a request is in flight when the shutdown starts; it completes afterwards.
        RawClient.send(fd, Array("POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nda".utf8))
        usleep(100_000)
        let done = Thread(server: server)
        usleep(100_000)
        RawClient.send(fd, Array("ta".utf8))
        let response = RawClient.read(fd, responses: 1)
        #expect(response.status == 200)
        #expect(response.text.contains("Connection: close"))
        done.join()
        // After the drain nothing listens any more.
        #expect(throws: (any Error).self) { _ = try RawClient.connect(port: port) }
    }
}

@Suite("Upstream connection reuse", .serialized)
struct UpstreamReuseTests {
    @Test func staleKeepAliveConnectionIsRetriedOnceForIdempotentRequests() throws {
        let harness = try Harness()
        // The backend closes after /close without announcing it; the pipelined GET then meets a
        // pooled connection that is already dead and must be replayed on a fresh one.
        let response = try harness.exchange("GET /close HTTP/1.1\r\nHost: a\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\n\r\n", responses: 2)
        #expect(response.statuses == [200, 200])
        #expect(response.text.contains("\"/after\""))
        #expect(harness.backend.requestCount.load(ordering: .relaxed) == 2)
    }

    @Test func responseFramedByCloseIsDeliveredAndClosesTheClient() throws {
        let harness = try Harness()
        let response = try harness.exchange("GET /eof HTTP/1.1\r\nHost: a\r\n\r\n", responses: 2)
        #expect(response.status == 200)
        #expect(response.text.hasSuffix("\r\n\r\nuntil the end\n"))
        #expect(response.text.contains("Connection: close"))
        #expect(response.closed)
    }

    @Test func keepAliveReusesOneUpstreamConnection() throws {
        let harness = try Harness()
        let requests = (0..<5).map { "GET /r\($0) HTTP/1.1\r\nHost: a\r\n\r\n" }.joined()
        let response = try harness.exchange(requests, responses: 5)
        #expect(response.statuses == [200, 200, 200, 200, 200])
        // One connection carried all five: the backend saw five heads on one stream, in order.
        #expect(harness.received.components(separatedBy: "GET /r").count == 6)
    }
}
