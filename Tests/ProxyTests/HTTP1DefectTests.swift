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
