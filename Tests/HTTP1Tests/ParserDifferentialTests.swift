import Testing
@testable import HTTP1

/// The single-pass parser against the two-pass one it replaced (ReferenceParser.swift): seeded
/// random mutations of realistic and hostile heads, each parsed whole and again as it would
/// arrive in pieces on one connection, under the default and under tight limits. Every call
/// must end the same way: the same status and code, the same "need more", or the same head
/// down to every range.
@Suite("Request parser: same answers as the two-pass parser")
struct ParserDifferentialTests {
    /// How one call ended, in a form two parsers can be compared by.
    enum Outcome: Equatable, CustomStringConvertible {
        case incomplete
        case refused(status: Int, code: String)
        case parsed(String)

        var description: String {
            switch self {
            case .incomplete: "incomplete"
            case .refused(let status, let code): "\(status) \(code)"
            case .parsed(let head): head
            }
        }
    }

    static func snapshot(_ head: RequestHead) -> String {
        let fields = head.headers.map { "\($0.nameStart)-\($0.nameEnd):\($0.valueStart)-\($0.valueEnd)/\($0.kind)" }
        return "\(head.method) \(head.methodRange) \(head.target) \(head.path) \(head.query) \(head.authority) "
            + "11=\(head.isHTTP11) len=\(head.length) \(head.framing) ka=\(head.keepAlive) 100=\(head.expectContinue) "
            + "up=\(head.upgrade) host=\(head.host) nom=\(head.nominated) [\(fields.joined(separator: " "))]"
    }

    /// Feeds `input` to both parsers as a connection would receive it, cut at `cuts` (each call
    /// sees everything so far), and returns both sequences of outcomes.
    static func run(_ input: [UInt8], cuts: [Int], limits: RequestLimits) -> (new: [Outcome], reference: [Outcome]) {
        var parser = RequestParser(limits: limits)
        var reference = ReferenceRequestParser(limits: limits)
        var head = RequestHead(), referenceHead = RequestHead()
        var got: [Outcome] = [], expected: [Outcome] = []
        for cut in cuts + [input.count] {
            let a: Outcome = input.withUnsafeBytes { whole in
                let raw = UnsafeRawBufferPointer(rebasing: whole[0..<cut])
                do throws(HTTPError) { return try parser.parse(raw, into: &head) ? .parsed(snapshot(head)) : .incomplete } catch {
                    return .refused(status: error.status, code: error.code.description)
                }
            }
            let b: Outcome = input.withUnsafeBytes { whole in
                let raw = UnsafeRawBufferPointer(rebasing: whole[0..<cut])
                do throws(HTTPError) { return try reference.parse(raw, into: &referenceHead) ? .parsed(snapshot(referenceHead)) : .incomplete } catch {
                    return .refused(status: error.status, code: error.code.description)
                }
            }
            got.append(a)
            expected.append(b)
            if b != .incomplete { break }
        }
        return (got, expected)
    }

    static let seeds: [String] = [
        "GET /api/v1/orders/8f14e45f-ceea-467f-a7e1-3c0d9b2f6a11/items?limit=50&cursor=eyJpZCI6MTIzNH0 HTTP/1.1\r\nHost: orders.internal.example.com\r\nUser-Agent: service-a/2.14.1 (linux; swift)\r\nAccept: application/json\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\nX-Request-Id: 7b3f6c2e-59d1-4c8a-9e0b-2a6d1f4e8c37\r\nX-Forwarded-For: 10.1.2.9, 10.0.0.5\r\nTraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nContent-Type: application/json\r\nCache-Control: no-cache\r\nX-Tenant: contoso\r\nAuthorization: Bearer abc.def.ghi\r\n\r\n",
        "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
        "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "GET http://user@evil/ HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET https://Svc.Example:8443/p/q?x=1 HTTP/1.1\r\nHost: other\r\n\r\n",
        "GET http://[2001:db8::1]:80 HTTP/1.0\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.0\r\nConnection: Keep-Alive, X-Drop\r\nX-Drop: 1\r\n\r\n",
        "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
        "PUT /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
        "GET / HTTP/1.1\r\nHost: a\r\nExpect: nope\r\n\r\n",
        "\r\n\r\nGET /lead HTTP/1.1\r\nhost:a\r\nX-Empty:\r\nX-Tabs:\t v\t \r\nX-Obs: caf\u{e9} \u{ff}\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: b\r\nForwarded: for=1.2.3.4\r\nX-MS-CLIENT-PRINCIPAL-NAME: x\r\nTE: trailers\r\nKeep-Alive: 5\r\nProxy-Connection: close\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "GET /a?b?c#d HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX_Under.score!#$%&'*+^`|~: v\r\nA: b\r\nABCDEFGH: 8\r\nABCDEFGHIJKLMNOP: 16\r\n\r\n",
        "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  continued\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\nX-A: 1\r\n\r\n",
    ]

    /// Bytes that sit on an edge of some byte class or of the grammar.
    static let interesting: [UInt8] = [0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x2C, 0x2D, 0x2E, 0x2F,
                                       0x30, 0x31, 0x39, 0x3A, 0x3B, 0x3F, 0x40, 0x41, 0x48, 0x5A, 0x5B, 0x5F, 0x60, 0x61,
                                       0x7A, 0x7B, 0x7E, 0x7F, 0x80, 0xC3, 0xFF]

    static func mutate(_ seed: [UInt8], _ random: inout SplitMix) -> [UInt8] {
        var bytes = seed
        for _ in 0..<(1 + random.below(3)) where !bytes.isEmpty {
            let at = random.below(bytes.count)
            let byte = random.below(4) == 0 ? UInt8(truncatingIfNeeded: random.next()) : interesting[random.below(interesting.count)]
            switch random.below(6) {
            case 0, 1: bytes[at] = byte
            case 2: bytes.insert(byte, at: at)
            case 3: bytes.remove(at: at)
            case 4:
                // A line twice, or a CRLF where there was none.
                let line = Array("\r\nX-Dup: v".utf8)
                bytes.insert(contentsOf: random.below(2) == 0 ? line : [0x0D, 0x0A], at: at)
            default: bytes.removeSubrange(at..<min(bytes.count, at + random.below(12)))
            }
        }
        return bytes
    }

    static let limitSets: [RequestLimits] = [
        RequestLimits(),
        RequestLimits(maxHeadBytes: 96, maxHeaders: 4, maxTargetBytes: 24),
        RequestLimits(maxHeadBytes: 420, maxHeaders: 100, maxTargetBytes: 64),
    ]

    @Test(arguments: 0..<4)
    func mutatedHeadsWholeAndInPiecesGetTheSameAnswers(_ round: Int) {
        var random = SplitMix(seed: UInt64(0x5EED_0000 + round))
        var mismatches: [String] = []
        var counts = (parsed: 0, refused: 0)
        for iteration in 0..<5_000 {
            let seed = Array(Self.seeds[random.below(Self.seeds.count)].utf8)
            let input = iteration % 10 == 0 ? seed : Self.mutate(seed, &random)
            let limits = Self.limitSets[random.below(Self.limitSets.count)]
            // Whole, then in two to four pieces at random places.
            var cutSets: [[Int]] = [[]]
            if input.count > 1 {
                cutSets.append((0..<(1 + random.below(3))).map { _ in 1 + random.below(input.count - 1) }.sorted())
            }
            for cuts in cutSets {
                let (got, expected) = Self.run(input, cuts: cuts, limits: limits)
                if got != expected, mismatches.count < 5 {
                    mismatches.append("\(String(decoding: input, as: UTF8.self).debugDescription) cuts \(cuts) limits \(limits.maxHeadBytes)/\(limits.maxHeaders)/\(limits.maxTargetBytes): got \(got), expected \(expected)")
                }
                if case .parsed = expected.last { counts.parsed += 1 }
                if case .refused = expected.last { counts.refused += 1 }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
        // The mutations must reach both sides of the parser, or the comparison proves little.
        #expect(counts.parsed > 1_000 && counts.refused > 1_000, "\(counts)")
    }

    /// Byte by byte: every prefix of every seed, on one connection's parser, and its answer
    /// for each.
    @Test func everySeedByteByByte() {
        var mismatches: [String] = []
        for seed in Self.seeds {
            let input = Array(seed.utf8)
            for limits in Self.limitSets {
                let (got, expected) = Self.run(input, cuts: Array(1..<input.count), limits: limits)
                if got != expected, mismatches.count < 5 {
                    mismatches.append("\(seed.debugDescription) limits \(limits.maxHeadBytes): got \(got.last!), expected \(expected.last!) after \(expected.count) reads")
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }

    /// Response heads and trailers go through the same field-line reader with their end known.
    @Test func knownEndFieldLinesGetTheSameAnswers() {
        var random = SplitMix(seed: 0xF1E1D)
        var mismatches: [String] = []
        let sections = Self.seeds.compactMap { seed -> [UInt8]? in
            guard let lineEnd = seed.utf8.firstIndex(of: 0x0A) else { return nil }
            return Array(seed.utf8[seed.utf8.index(after: lineEnd)...])
        }
        for _ in 0..<5_000 {
            let input = Self.mutate(sections[random.below(sections.count)], &random)
            input.withUnsafeBytes { raw in
                guard let end = raw.findHeadEnd(from: 0, limit: raw.count) else { return }
                var a: [String] = [], b: [String] = []
                var errorA: HTTPError?, errorB: HTTPError?
                do throws(HTTPError) {
                    try parseFieldLines(raw, from: 0, end: end, maxFields: 6) { a.append("\($0.name) \($0.value) \($0.kind)") }
                } catch { errorA = error }
                do throws(HTTPError) {
                    _ = try referenceParseFieldLines(raw, from: 0, end: end, maxFields: 6) { b.append("\($0.name) \($0.value) \($0.kind)") }
                } catch { errorB = error }
                if (a != b || errorA != errorB), mismatches.count < 5 {
                    mismatches.append("\(String(decoding: input, as: UTF8.self).debugDescription): \(a) \(String(describing: errorA)) vs \(b) \(String(describing: errorB))")
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }
}

/// A small seeded generator (as in the other test modules): the same inputs on every run.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
