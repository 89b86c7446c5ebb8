import HTTP1
import Testing

/// The HTTP/1.1 front-door defects: an empty Host, loose chunk-size lines, unknown transfer
/// codings before `chunked`, and absolute-form targets. Each is checked where a user would look:
/// the status, and the exact bytes the backend received.
@Suite("HTTP/1.1 front-door defects", .serialized)
struct HTTP1DefectTests {
    /// The Host field lines of the first head the backend received, as sent.
    static func hostLines(_ received: String) -> [String] {
        let head = received.components(separatedBy: "\r\n\r\n").first ?? ""
        return head.components(separatedBy: "\r\n").filter { $0.lowercased().hasPrefix("host:") }
    }
}

// MARK: Host

extension HTTP1DefectTests {
    @Test(arguments: ["Host:", "Host:   ", "host: \t"])
    func emptyHostReachesTheBackendAsExactlyOneHost(_ field: String) throws {
        let harness = try Harness()
        let response = try harness.exchange("GET /e HTTP/1.1\r\n\(field)\r\nConnection: close\r\n\r\n")
        #expect(response.status == 200)
        let authority = "127.0.0.1:\(harness.backend.address.port)"
        // No authority from the client: the upstream's own, as for an HTTP/1.0 request without Host.
        #expect(harness.received == "GET /e HTTP/1.1\r\nHost: \(authority)\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n\r\n")
        #expect(Self.hostLines(harness.received) == ["Host: \(authority)"])
        #expect(!harness.received.lowercased().contains("x-forwarded-host"))
    }

    @Test func http10WithoutHostGetsTheUpstreamAuthorityOnce() throws {
        let harness = try Harness()
        let response = try harness.exchange("GET /old HTTP/1.0\r\n\r\n")
        #expect(response.status == 200)
        #expect(Self.hostLines(harness.received) == ["Host: 127.0.0.1:\(harness.backend.address.port)"])
        #expect(!harness.received.lowercased().contains("x-forwarded-host"))
    }

    @Test func aHostNamedInConnectionStillReachesTheBackendOnce() throws {
        let harness = try Harness()
        let response = try harness.exchange("GET /n HTTP/1.1\r\nHost: svc\r\nConnection: Host, close\r\n\r\n")
        #expect(response.status == 200)
        #expect(Self.hostLines(harness.received) == ["Host: svc"])
    }

    @Test func aHostIsForwardedOnceAndRepeatedAsXForwardedHost() throws {
        let harness = try Harness()
        let response = try harness.exchange("GET /h HTTP/1.1\r\nX-A: 1\r\nHost: svc.example:8443\r\nX-B: 2\r\n\r\n")
        #expect(response.status == 200)
        #expect(harness.received == "GET /h HTTP/1.1\r\nHost: svc.example:8443\r\nX-A: 1\r\nX-B: 2\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: svc.example:8443\r\n\r\n")
        #expect(Self.hostLines(harness.received) == ["Host: svc.example:8443"])
    }
}

// MARK: Chunk-size lines

extension HTTP1DefectTests {
    /// Size lines (without CRLF) that do not match
    /// `chunk-size *(BWS ";" BWS token [BWS "=" BWS (token / quoted-string)])`.
    static let badSizeLines: [String] = [
        "2 2", "2 x=y", "2;", "2;=", "0 rrrr", "2;=b", "2;a=", "2;a=;b", "2;;a", "2;a b", "2;a=b c",
        "2;a=\"b", "2;a=\"b\"c", "2;a=\"b\u{1}\"", "2;a=\"b\\\u{1}\"", "2;a\u{0}", "2;a=b\u{7f}",
        "2 ", "2;a ", "2;a=b\t", "2;a=\"b\" ", "2;a=@", "2;a@b", "2,a", "x2", "",
        "2;" + String(repeating: "a", count: 5000),
    ]
    /// Size lines (without CRLF) that do.
    static let goodSizeLines: [String] = [
        "2", "002", "2;a=b", "2 ; a = \"x y\"", "2;a;b=c", "2;a=\"b\\\"c\"", "2\t;\ta\t=\tb", "2;a=\"\"",
        "2;a=b;c=\"d;e\"", "2;a ;b", "2;a=\"b\" ;c", "2;!#$%&'*+-.^_`|~=x", "2;a=\"\\\\\"",
        "2;" + String(repeating: "a", count: 4000),
    ]

    /// Decodes `body` with a fresh decoder, all at once or one byte per call; returns the data
    /// bytes and whether the last chunk was reached.
    static func decode(_ body: String, byteAtATime: Bool) throws -> (data: [UInt8], ended: Bool) {
        var decoder = ChunkedDecoder()
        var data: [UInt8] = []
        var ended = false
        var pending: [UInt8] = []
        let all = Array(body.utf8)
        var next = 0
        while !ended && next < all.count {
            let step = byteAtATime ? 1 : all.count
            pending += all[next..<min(next + step, all.count)]
            next += step
            let consumed = try pending.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) throws -> Int in
                try decoder.decode(bytes) { event in
                    switch event {
                    case .data(let range): data += bytes[range]
                    case .end: ended = true
                    }
                }
            }
            pending.removeFirst(consumed)
        }
        return (data, ended)
    }

    @Test(arguments: badSizeLines.indices, [false, true])
    func decoderRefusesAMalformedSizeLine(_ index: Int, byteAtATime: Bool) {
        let line = Self.badSizeLines[index]
        #expect(throws: ChunkedDecoder.badChunk, "\(line.debugDescription)") {
            _ = try Self.decode("\(line)\r\nab\r\n0\r\n\r\n", byteAtATime: byteAtATime)
        }
    }

    @Test(arguments: goodSizeLines.indices, [false, true])
    func decoderAcceptsAWellFormedSizeLine(_ index: Int, byteAtATime: Bool) throws {
        let line = Self.goodSizeLines[index]
        let result = try Self.decode("\(line)\r\nab\r\n0;last=\"yes\"\r\n\r\n", byteAtATime: byteAtATime)
        #expect(result.data == Array("ab".utf8), "\(line.debugDescription)")
        #expect(result.ended, "\(line.debugDescription)")
    }

    @Test func aSizeLineIsNotAcceptedBeforeItsLineFeed() throws {
        var decoder = ChunkedDecoder()
        let consumed = try Array("2;a=\"b\\\"c\"\r".utf8).withUnsafeBytes { bytes in
            try decoder.decode(bytes) { _ in }
        }
        #expect(consumed == 11)
        #expect(!decoder.pastFirstSizeLine)
        #expect(throws: ChunkedDecoder.badChunk) {
            _ = try Array("x".utf8).withUnsafeBytes { bytes in try decoder.decode(bytes) { _ in } }
        }
    }

    @Test(arguments: badSizeLines.indices)
    func proxyRefusesAMalformedSizeLineAndForwardsNothing(_ index: Int) throws {
        let line = Self.badSizeLines[index]
        let harness = try Harness()
        let response = try harness.exchange("POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\(line)\r\nab\r\n0\r\n\r\n")
        #expect(response.status == 400, "\(line.debugDescription): \(response.text)")
        #expect(response.closed)
        #expect(harness.receivedCount == 0, "\(line.debugDescription): the upstream received \(harness.received)")
    }

    @Test(arguments: goodSizeLines.indices)
    func proxyForwardsTheBodyOfAWellFormedSizeLine(_ index: Int) throws {
        let line = Self.goodSizeLines[index]
        let harness = try Harness()
        let response = try harness.exchange("POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\(line)\r\nab\r\n0\r\n\r\n")
        #expect(response.status == 200, "\(line.debugDescription): \(response.text)")
        // Extensions are dropped: the backend sees the chunk re-stated with a bare size.
        #expect(harness.received.hasSuffix("\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"), "\(line.debugDescription): \(harness.received)")
    }
}

// MARK: Transfer codings

extension HTTP1DefectTests {
    static let codingCases: [(String, Int)] = [
        ("Transfer-Encoding: deflate, chunked", 501),
        ("Transfer-Encoding: gzip, chunked", 501),
        ("Transfer-Encoding: gzip,chunked", 501),
        ("Transfer-Encoding: x-custom, gzip, chunked", 501),
        ("Transfer-Encoding: deflate\r\nTransfer-Encoding: chunked", 501),
        ("Transfer-Encoding: gzip", 501),
        ("Transfer-Encoding: identity", 501),
        ("Transfer-Encoding: chunked, chunked", 400),
        ("Transfer-Encoding: chunked, gzip", 400),
        ("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip", 400),
        ("Transfer-Encoding: ,", 400),
    ]

    @Test(arguments: codingCases.indices)
    func parserStatusForATransferCoding(_ index: Int) {
        let (field, status) = Self.codingCases[index]
        var parser = RequestParser()
        var head = RequestHead()
        let bytes = Array("POST / HTTP/1.1\r\nHost: a\r\n\(field)\r\n\r\n".utf8)
        do {
            _ = try bytes.withUnsafeBytes { raw in try parser.parse(raw, into: &head) }
            Issue.record("\(field.debugDescription) was accepted")
        } catch let error as HTTPError {
            #expect(error.status == status, "\(field.debugDescription): \(error)")
            if status == 501 { #expect(error == .unknownCoding) }
        } catch {
            Issue.record(error)
        }
    }

    @Test(arguments: codingCases.indices)
    func proxyStatusForATransferCoding(_ index: Int) throws {
        let (field, status) = Self.codingCases[index]
        let harness = try Harness()
        let response = try harness.exchange("POST / HTTP/1.1\r\nHost: a\r\n\(field)\r\n\r\n2\r\nab\r\n0\r\n\r\n")
        #expect(response.status == status, "\(field.debugDescription): \(response.text)")
        #expect(response.closed)
        #expect(harness.receivedCount == 0)
    }
}

// MARK: Absolute-form targets

extension HTTP1DefectTests {
    @Test func absoluteFormIsForwardedInOriginFormWithTheAuthorityAsHost() throws {
        let harness = try Harness()
        let response = try harness.exchange("GET http://evil/ HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        #expect(response.status == 200)
        #expect(harness.received == "GET / HTTP/1.1\r\nHost: evil\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: evil\r\n\r\n")
        #expect(Self.hostLines(harness.received) == ["Host: evil"])
    }

    /// Absolute-form targets, and the request line and Host the backend must see for each.
    static let absoluteCases: [(String, String, String)] = [
        ("HTTP://Svc.Example:8080/p/q?x=1&y=/z", "GET /p/q?x=1&y=/z HTTP/1.1", "Svc.Example:8080"),
        ("https://svc/a/b", "GET /a/b HTTP/1.1", "svc"),
        ("hTTpS://svc?x=1", "GET /?x=1 HTTP/1.1", "svc"),
        ("http://svc", "GET / HTTP/1.1", "svc"),
        ("http://[::1]:8080/v6", "GET /v6 HTTP/1.1", "[::1]:8080"),
        ("http://10.0.0.1/?", "GET /? HTTP/1.1", "10.0.0.1"),
    ]

    @Test(arguments: absoluteCases.indices)
    func absoluteFormBecomesOriginFormAndOneHost(_ index: Int) throws {
        let (target, requestLine, host) = Self.absoluteCases[index]
        let harness = try Harness()
        let response = try harness.exchange("GET \(target) HTTP/1.1\r\nHost: other\r\nHost-Like: x\r\nConnection: close\r\n\r\n")
        #expect(response.status == 200, "\(target): \(response.text)")
        let seen = harness.received
        #expect(seen.hasPrefix("\(requestLine)\r\nHost: \(host)\r\n"), "\(target): \(seen)")
        #expect(Self.hostLines(seen) == ["Host: \(host)"], "\(target): \(seen)")
        #expect(seen.contains("\r\nX-Forwarded-Host: \(host)\r\n"))
        #expect(seen.contains("\r\nHost-Like: x\r\n"))
        #expect(!seen.contains("other"))
    }

    @Test func absoluteFormInHTTP10NeedsNoHost() throws {
        let harness = try Harness()
        let response = try harness.exchange("GET http://svc/old HTTP/1.0\r\n\r\n")
        #expect(response.status == 200)
        #expect(harness.received.hasPrefix("GET /old HTTP/1.1\r\nHost: svc\r\n"))
        #expect(Self.hostLines(harness.received) == ["Host: svc"])
    }

    @Test func absoluteFormStillNeedsExactlyOneHostInHTTP11() throws {
        for request in ["GET http://svc/ HTTP/1.1\r\n\r\n", "GET http://svc/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"] {
            let harness = try Harness()
            let response = try harness.exchange(request)
            #expect(response.status == 400, "\(request.debugDescription)")
            #expect(harness.receivedCount == 0)
        }
    }

    static let badTargets: [String] = [
        "GET http://user@evil/ HTTP/1.1",
        "GET http://user:pw@evil/ HTTP/1.1",
        "GET http://evil@/ HTTP/1.1",
        "GET ftp://x/ HTTP/1.1",
        "GET http:///x HTTP/1.1",
        "GET http:// HTTP/1.1",
        "GET http://?x HTTP/1.1",
        "GET http://:80/ HTTP/1.1",
        "GET http:/x/ HTTP/1.1",
        "GET http:x HTTP/1.1",
        "GET httpx://a/ HTTP/1.1",
        "GET ttp://a/ HTTP/1.1",
        "GET http://a\"b/ HTTP/1.1",
        "GET http://a{b}/ HTTP/1.1",
        "GET http://a\\b/ HTTP/1.1",
        "GET http://a:b/ HTTP/1.1",
        "GET http://a%2/ HTTP/1.1",
        "GET http://[]/ HTTP/1.1",
        "GET http://[::1/ HTTP/1.1",
        "GET http://[::1]x/ HTTP/1.1",
        "GET http://a]/ HTTP/1.1",
        "GET http://a/#f HTTP/1.1",
        "GET * HTTP/1.1",
        "OPTIONS *x HTTP/1.1",
        "GET a/b HTTP/1.1",
    ]

    @Test(arguments: badTargets.indices)
    func malformedTargetsAreRefused(_ index: Int) throws {
        let line = Self.badTargets[index]
        let harness = try Harness()
        let response = try harness.exchange("\(line)\r\nHost: a\r\n\r\n")
        #expect(response.status == 400, "\(line): \(response.text)")
        #expect(harness.receivedCount == 0, "\(line): \(harness.received)")
    }

    @Test func rulesSeeThePathOfAnAbsoluteFormTarget() throws {
        let (harness, _) = try AuthTests.harness()
        #expect(try harness.exchange("GET http://svc/healthz HTTP/1.1\r\nHost: a\r\n\r\n").status == 200)
        #expect(try harness.exchange("GET HTTP://svc/public/logo.png?v=2 HTTP/1.1\r\nHost: a\r\n\r\n").status == 200)
        #expect(try harness.exchange("GET http://svc/public/../admin HTTP/1.1\r\nHost: a\r\n\r\n").status == 401)
        #expect(try harness.exchange("GET http://svc/admin HTTP/1.1\r\nHost: a\r\n\r\n").status == 401)
        // The authority is no path: "http://healthz" is the root of host "healthz".
        #expect(try harness.exchange("GET http://healthz HTTP/1.1\r\nHost: a\r\n\r\n").status == 401)
    }

    /// Parses one head from `text` and hands the buffer and head to `body`.
    static func parsed(_ text: String, _ body: (UnsafeRawBufferPointer, RequestHead) throws -> Void) throws {
        var parser = RequestParser()
        var head = RequestHead()
        try Array(text.utf8).withUnsafeBytes { raw in
            #expect(try parser.parse(raw, into: &head))
            try body(raw, head)
        }
    }

    static func text(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    @Test func parserSplitsAnAbsoluteFormTargetIntoRangesOfTheBuffer() throws {
        try Self.parsed("GET hTTp://Svc:81/a/b?x=1 HTTP/1.1\r\nHost: other\r\n\r\n") { bytes, head in
            #expect(Self.text(bytes, head.authority) == "Svc:81")
            #expect(Self.text(bytes, head.host) == "Svc:81")
            #expect(Self.text(bytes, head.path) == "/a/b")
            #expect(Self.text(bytes, head.query) == "?x=1")
            #expect(Self.text(bytes, head.target) == "hTTp://Svc:81/a/b?x=1")
        }
        try Self.parsed("GET https://svc?x=1 HTTP/1.1\r\nHost: other\r\n\r\n") { bytes, head in
            #expect(Self.text(bytes, head.authority) == "svc")
            #expect(Self.text(bytes, head.path) == "/")
            #expect(Self.text(bytes, head.query) == "?x=1")
        }
        try Self.parsed("GET /a?b HTTP/1.1\r\nHost: h\r\n\r\n") { bytes, head in
            #expect(head.authority.isEmpty)
            #expect(Self.text(bytes, head.host) == "h")
            #expect(Self.text(bytes, head.path) == "/a")
            #expect(Self.text(bytes, head.query) == "?b")
        }
    }

    @Test func theNextRequestOnTheConnectionKeepsItsOwnHost() throws {
        let harness = try Harness()
        let response = try harness.exchange("GET http://evil/one HTTP/1.1\r\nHost: a\r\n\r\nGET /two HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n", responses: 2)
        #expect(response.statuses == [200, 200])
        let seen = harness.received
        #expect(seen.contains("GET /one HTTP/1.1\r\nHost: evil\r\n"), "\(seen)")
        #expect(seen.contains("GET /two HTTP/1.1\r\nHost: b\r\n"), "\(seen)")
        #expect(seen.components(separatedBy: "\r\nHost: ").count == 3)
    }

    @Test func asteriskFormStaysOptionsOnly() throws {
        let harness = try Harness()
        let response = try harness.exchange("OPTIONS * HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        #expect(response.status == 200)
        #expect(harness.received.hasPrefix("OPTIONS * HTTP/1.1\r\nHost: a\r\n"))
    }
}
