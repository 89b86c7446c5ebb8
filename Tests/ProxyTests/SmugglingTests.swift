import Testing

/// Every framing trick from the issue, sent as raw bytes: the client gets the error status, the
/// connection is closed, and the backend receives nothing at all.
@Suite("Malformed and smuggling requests never reach the upstream", .serialized)
struct SmugglingTests {
    static let cases: [(String, String, Int)] = [
        ("CL and TE together", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("TE and CL together", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400),
        ("differing Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400),
        ("Content-Length list that differs", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\nhello!", 400),
        ("signed Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello", 400),
        ("hex Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\nhello", 400),
        ("unknown transfer coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        ("chunked not final", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 400),
        ("chunked twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("chunked with odd case and space trick", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400),
        ("obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  continued\r\n\r\n", 400),
        ("whitespace before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
        ("bare CR in value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r2\r\n\r\n", 400),
        ("NUL in value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\u{0}2\r\n\r\n", 400),
        ("control byte in value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\u{1}2\r\n\r\n", 400),
        ("bare LF inside the head", "GET / HTTP/1.1\r\nHost: a\nX-A: 1\r\n\r\n", 400),
        ("invalid chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400),
        ("chunk size overflow", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n", 400),
        ("missing Host", "GET / HTTP/1.1\r\n\r\n", 400),
        ("two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ("CONNECT", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 405),
        ("absolute-form target with userinfo", "GET http://user@evil/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("absolute-form target, not http", "GET ftp://x/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("HTTP/2 preface as HTTP/1", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400),
        ("TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("TLS handshake bytes", "\u{16}\u{3}\u{1}\u{2}\u{0}\u{1}\u{0}\u{1}\u{fc}\u{3}\u{3}", 400),
    ]

    @Test(arguments: cases.indices)
    func refusedAndNeverForwarded(_ index: Int) throws {
        let (name, request, status) = Self.cases[index]
        let harness = try Harness()
        let response = try harness.exchange(request)
        #expect(response.status == status, "\(name): \(response.text)")
        #expect(response.closed, "\(name): the connection must be closed")
        #expect(harness.receivedCount == 0, "\(name): the upstream received \(harness.received)")
    }

    /// RFC 9112 §3.2.2: a server must accept absolute-form. It reaches the backend in origin-form
    /// with the target's authority as its one Host, so rules and backend see the same path and host.
    @Test func absoluteFormTargetIsForwardedInOriginForm() throws {
        let harness = try Harness()
        let response = try harness.exchange("GET http://evil/ HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(response.status == 200)
        #expect(harness.received.hasPrefix("GET / HTTP/1.1\r\nHost: evil\r\n"))
        #expect(!harness.received.contains("Host: a\r\n"))
    }

    @Test func tooManyHeadersIs431() throws {
        let harness = try Harness(extraYAML: "limits: {max_headers: 10}")
        let headers = (0..<11).map { "X-\($0): v\r\n" }.joined()
        let response = try harness.exchange("GET / HTTP/1.1\r\nHost: a\r\n\(headers)\r\n")
        #expect(response.status == 431)
        #expect(harness.receivedCount == 0)
    }

    @Test func headerBlockOverTheLimitIs431() throws {
        let harness = try Harness(extraYAML: "limits: {max_header_bytes: 2048}")
        let response = try harness.exchange("GET / HTTP/1.1\r\nHost: a\r\nX-Big: \(String(repeating: "a", count: 3000))\r\n\r\n")
        #expect(response.status == 431)
        #expect(harness.receivedCount == 0)
    }

    @Test func longTargetIs414() throws {
        let harness = try Harness(extraYAML: "limits: {max_request_target_bytes: 100}")
        let response = try harness.exchange("GET /\(String(repeating: "a", count: 200)) HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(response.status == 414)
        #expect(harness.receivedCount == 0)
    }

    @Test func h2cUpgradeIsNeverPassedOn() throws {
        let harness = try Harness()
        let response = try harness.exchange("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n")
        #expect(response.status == 200)
        #expect(!harness.received.lowercased().contains("upgrade"))
        #expect(!harness.received.lowercased().contains("http2-settings"))
    }

    @Test func slowHeadGets408() throws {
        let harness = try Harness()
        let response = try harness.exchange("GET / HTTP/1.1\r\nHost: a\r\n")
        #expect(response.status == 408)
        #expect(harness.receivedCount == 0)
    }
}
