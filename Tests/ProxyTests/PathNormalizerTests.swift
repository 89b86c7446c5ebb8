import HTTP1
import Testing

/// The normalizer's table: each spelling and the one normal form it must become, or the
/// refusal it must get. In place, as the proxy runs it, and into a separate buffer.
@Suite("Path normalization")
struct PathNormalizerTests {
    static let normal: [(String, String)] = [
        ("/", "/"),
        ("/a/b", "/a/b"),
        ("/a/b/", "/a/b/"),
        ("/.well-known/openid-configuration", "/.well-known/openid-configuration"),
        ("/a/..b/.c/...", "/a/..b/.c/..."),
        ("/a;v=1/b", "/a;v=1/b"),
        ("/%61dmin/x", "/admin/x"),
        ("/%41%5a%30%2D%2e%5F%7e", "/AZ0-._~"),
        ("/a%3ab%3F%20", "/a%3Ab%3F%20"),
        ("/caf%c3%a9", "/caf%C3%A9"),
        ("/%25", "/%25"),
        ("/%252F", "/%252F"),
        ("//admin/x", "/admin/x"),
        ("/a///b//", "/a/b/"),
        ("/./a", "/a"),
        ("/a/.", "/a/"),
        ("/a/./b/.", "/a/b/"),
        ("/a/..", "/"),
        ("/a/../", "/"),
        ("/a/b/../c", "/a/c"),
        ("/public/../admin/x", "/admin/x"),
        ("/public/%2e%2e/admin/x", "/admin/x"),
        ("/public/.%2E/admin/x", "/admin/x"),
        ("/public/%2e/x", "/public/x"),
        ("/a/b/c/../../d", "/a/d"),
        ("/a//../b", "/b"),
        ("/a/.//b", "/a/b"),
    ]

    static let refused: [(String, HTTPError)] = [
        ("/a%2fb", PathNormalizer.encodedSlash),
        ("/a%2Fb", PathNormalizer.encodedSlash),
        ("/a%00", PathNormalizer.encodedNUL),
        ("/a%5cb", PathNormalizer.backslash),
        ("/a\\b", PathNormalizer.backslash),
        ("/..", PathNormalizer.aboveRoot),
        ("/../x", PathNormalizer.aboveRoot),
        ("/a/../../x", PathNormalizer.aboveRoot),
        ("/%2e%2e/x", PathNormalizer.aboveRoot),
        ("/a/%", PathNormalizer.malformedEscape),
        ("/a/%4", PathNormalizer.malformedEscape),
        ("/a/%zz", PathNormalizer.malformedEscape),
        ("/a/%u0061", PathNormalizer.malformedEscape),
        ("/public/..;/admin/x", PathNormalizer.dotSegmentWithParameters),
        ("/public/.;x/admin", PathNormalizer.dotSegmentWithParameters),
        ("/public/%2e%2e;/admin", PathNormalizer.dotSegmentWithParameters),
        ("a/b", PathNormalizer.notAbsolute),
    ]

    func normalized(_ path: String) throws -> String {
        var bytes = Array(path.utf8)
        let length = try bytes.withUnsafeMutableBytes { raw in
            try PathNormalizer.normalize(UnsafeRawBufferPointer(raw), into: raw)
        }
        return String(decoding: bytes[..<length], as: UTF8.self)
    }

    @Test func eachSpellingBecomesItsNormalFormInPlace() throws {
        for (input, expected) in Self.normal {
            #expect(try normalized(input) == expected, "\(input)")
            // A normal form is its own normal form, and the one-pass check agrees with it.
            #expect(try normalized(expected) == expected, "\(expected)")
            let fast = Array(input.utf8).withUnsafeBytes { PathNormalizer.isNormal($0) }
            if fast { #expect(input == expected, "isNormal said \(input) is normal") }
        }
    }

    @Test func intoASeparateBufferGivesTheSameResult() throws {
        for (input, expected) in Self.normal {
            let source = Array(input.utf8)
            var out = [UInt8](repeating: 0xEE, count: source.count)
            let length = try source.withUnsafeBytes { src in
                try out.withUnsafeMutableBytes { dst in try PathNormalizer.normalize(src, into: dst) }
            }
            #expect(String(decoding: out[..<length], as: UTF8.self) == expected, "\(input)")
        }
    }

    @Test func unsafeSpellingsAreRefusedWithTheirReason() {
        for (input, expected) in Self.refused {
            do {
                let result = try normalized(input)
                Issue.record("\(input) was accepted as \(result)")
            } catch {
                // HTTPError's == compares status and code only: the reason tells the rules apart.
                let refusal = error as? HTTPError
                #expect(refusal?.reason.description == expected.reason.description, "\(input)")
                #expect(refusal?.status == 400)
                #expect(refusal?.code.description == "path_not_normalizable")
            }
        }
    }

    @Test func theHeadKeepsItsQueryAndOnlyThePathShrinks() throws {
        let text = "GET /public/../admin//x?a=%2e%2e/../%2F HTTP/1.1\r\nHost: a\r\n\r\n"
        var bytes = Array(text.utf8)
        var head = RequestHead()
        var parser = RequestParser()
        let changed = try bytes.withUnsafeMutableBytes { raw in
            #expect(try parser.parse(UnsafeRawBufferPointer(raw), into: &head))
            return try head.normalizePath(in: raw)
        }
        #expect(changed)
        #expect(String(decoding: bytes[head.path], as: UTF8.self) == "/admin/x")
        #expect(String(decoding: bytes[head.query], as: UTF8.self) == "?a=%2e%2e/../%2F")
        #expect(head.length == bytes.count)
    }

    @Test func aNormalPathIsNotRewrittenAndAsteriskFormIsLeftAlone() throws {
        for text in ["GET /a/b?x HTTP/1.1\r\nHost: a\r\n\r\n", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
                     "GET http://a HTTP/1.1\r\nHost: a\r\n\r\n"] {
            var bytes = Array(text.utf8)
            var head = RequestHead()
            var parser = RequestParser()
            let changed = try bytes.withUnsafeMutableBytes { raw in
                _ = try parser.parse(UnsafeRawBufferPointer(raw), into: &head)
                return try head.normalizePath(in: raw)
            }
            #expect(!changed, "\(text)")
            #expect(bytes == Array(text.utf8))
        }
    }

    /// A plain second implementation (decode, then RFC 3986 §5.2.4 over whole segments) against
    /// the byte-level one on 20,000 generated spellings: they must accept and refuse the same
    /// paths and agree on every result, and every result must be its own normal form.
    @Test func agreesWithAPlainReferenceOnGeneratedSpellings() throws {
        let pieces = ["a", "b", "/", "/", "/", ".", "..", "%2e", "%2E", "%61", "%2f", "%3a", "%", "%g1", ";", "\\", "~",
                      "%7E", "%00", "%5c", "%25", "%C3%a9"]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        var accepted = 0
        for _ in 0..<20_000 {
            var path = "/"
            for _ in 0..<(1 + next(8)) { path += pieces[next(pieces.count)] }
            let expected = Self.reference(path)
            let actual: String?
            do { actual = try normalized(path) } catch { actual = nil }
            #expect(actual == expected, "\(path)")
            // The one-pass check may send a normal path to the full pass, never the reverse.
            if Array(path.utf8).withUnsafeBytes({ PathNormalizer.isNormal($0) }) { #expect(actual == path, "\(path)") }
            if let actual {
                accepted += 1
                #expect(try normalized(actual) == actual, "not a fixed point: \(path) → \(actual)")
                #expect(!actual.contains("//") && !actual.hasSuffix("/.") && !actual.hasSuffix("/..")
                        && !actual.contains("/./") && !actual.contains("/../"), "\(path) → \(actual)")
            }
        }
        // The generator reaches both outcomes often.
        #expect(accepted > 2_000 && accepted < 18_000, "\(accepted) accepted")
    }

    /// Nil for a refused path.
    static func reference(_ path: String) -> String? {
        let bytes = Array(path.utf8)
        var decoded: [UInt8] = []
        var i = 0
        func hex(_ b: UInt8) -> UInt8? { UInt8(String(UnicodeScalar(b)), radix: 16) }
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\\") { return nil }
            guard b == UInt8(ascii: "%") else {
                decoded.append(b)
                i += 1
                continue
            }
            guard i + 2 < bytes.count, let hi = hex(bytes[i + 1]), let lo = hex(bytes[i + 2]) else { return nil }
            let value = hi << 4 | lo
            if value == 0x2F || value == 0 || value == 0x5C { return nil }
            let scalar = Character(UnicodeScalar(value))
            if value < 0x80, scalar.isLetter || scalar.isNumber || "-._~".contains(scalar) {
                decoded.append(value)
            } else {
                let digits = Array("0123456789ABCDEF".utf8)
                decoded += [UInt8(ascii: "%"), digits[Int(value >> 4)], digits[Int(value & 15)]]
            }
            i += 3
        }
        let segments = decoded.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst()
        var stack: [String] = []
        var trailingSlash = false
        for (index, raw) in segments.enumerated() {
            let segment = String(decoding: raw, as: UTF8.self)
            let last = index == segments.count - 1
            switch segment {
            case "", ".":
                if last { trailingSlash = true }
            case "..":
                guard !stack.isEmpty else { return nil }
                stack.removeLast()
                if last { trailingSlash = true }
            default:
                if segment.hasPrefix(".;") || segment.hasPrefix("..;") { return nil }
                stack.append(segment)
            }
        }
        return "/" + stack.joined(separator: "/") + (trailingSlash && !stack.isEmpty ? "/" : "")
    }
}
