/// A strict JSON parser over bytes for JOSE headers, claim sets and JWKS (RFC 8259): bounded
/// size and depth, duplicate member names refused (RFC 7515 §5.2 lets us; two `exp` would be read
/// differently by two libraries), no trailing bytes.
/// Not `indirect`: arrays and objects already hold their elements out of line, and boxing every
/// scalar cost one allocation per claim on the uncached token path.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.number(let x), .number(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    public var string: String? { if case .string(let s) = self { s } else { nil } }

    /// Parses a whole JSON document strictly (duplicate members refused), up to 1 MiB.
    public static func parse(_ bytes: [UInt8]) -> JSONValue? {
        bytes.withUnsafeBytes { JSONParser.parse($0, maxBytes: 1 << 20, maxDepth: 16) }
    }
    public var number: Double? { if case .number(let n) = self { n } else { nil } }

    /// As ``parse(_:)`` with another size bound: published documents larger than a token's
    /// (Azure's service tags, ~4 MB) are parsed by the same strict parser.
    package static func parse(_ bytes: [UInt8], maxBytes: Int) -> JSONValue? {
        bytes.withUnsafeBytes { JSONParser.parse($0, maxBytes: maxBytes, maxDepth: 16) }
    }
}

struct JSONParser {
    let bytes: UnsafeRawBufferPointer
    var p = 0
    let maxDepth: Int

    static func parse(_ bytes: UnsafeRawBufferPointer, maxBytes: Int = 65_536, maxDepth: Int = 16) -> JSONValue? {
        guard bytes.count <= maxBytes else { return nil }
        var parser = JSONParser(bytes: bytes, maxDepth: maxDepth)
        guard let value = parser.value(depth: 0) else { return nil }
        parser.skipSpace()
        return parser.p == bytes.count ? value : nil
    }

    static func parse(_ bytes: [UInt8], maxDepth: Int = 16) -> JSONValue? {
        bytes.withUnsafeBytes { parse($0, maxDepth: maxDepth) }
    }

    mutating func skipSpace() {
        while p < bytes.count, bytes[p] == 0x20 || bytes[p] == 0x0A || bytes[p] == 0x0D || bytes[p] == 0x09 { p += 1 }
    }

    mutating func literal(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard p + n <= bytes.count else { return false }
        for i in 0..<n where bytes[p + i] != word.utf8Start[i] { return false }
        p += n
        return true
    }

    mutating func value(depth: Int) -> JSONValue? {
        guard depth <= maxDepth else { return nil }
        skipSpace()
        guard p < bytes.count else { return nil }
        switch bytes[p] {
        case UInt8(ascii: "{"):
            p += 1
            var members: [(String, JSONValue)] = []
            // An access token has ~20 claims: one allocation instead of five regrowths.
            members.reserveCapacity(depth == 0 ? 32 : 4)
            skipSpace()
            if p < bytes.count, bytes[p] == UInt8(ascii: "}") { p += 1; return .object(members) }
            while true {
                skipSpace()
                guard let key = string() else { return nil }
                guard !members.contains(where: { $0.0 == key }) else { return nil }
                skipSpace()
                guard p < bytes.count, bytes[p] == UInt8(ascii: ":") else { return nil }
                p += 1
                guard let v = value(depth: depth + 1) else { return nil }
                members.append((key, v))
                skipSpace()
                guard p < bytes.count else { return nil }
                if bytes[p] == UInt8(ascii: ",") { p += 1; continue }
                if bytes[p] == UInt8(ascii: "}") { p += 1; return .object(members) }
                return nil
            }
        case UInt8(ascii: "["):
            p += 1
            var elements: [JSONValue] = []
            skipSpace()
            if p < bytes.count, bytes[p] == UInt8(ascii: "]") { p += 1; return .array(elements) }
            while true {
                guard let v = value(depth: depth + 1) else { return nil }
                elements.append(v)
                skipSpace()
                guard p < bytes.count else { return nil }
                if bytes[p] == UInt8(ascii: ",") { p += 1; continue }
                if bytes[p] == UInt8(ascii: "]") { p += 1; return .array(elements) }
                return nil
            }
        case UInt8(ascii: "\""):
            return string().map(JSONValue.string)
        case UInt8(ascii: "t"): return literal("true") ? .bool(true) : nil
        case UInt8(ascii: "f"): return literal("false") ? .bool(false) : nil
        case UInt8(ascii: "n"): return literal("null") ? .null : nil
        default:
            return number()
        }
    }

    mutating func number() -> JSONValue? {
        let start = p
        if p < bytes.count, bytes[p] == UInt8(ascii: "-") { p += 1 }
        guard p < bytes.count, bytes[p] &- 48 < 10 else { return nil }
        if bytes[p] == UInt8(ascii: "0") { p += 1 } else { while p < bytes.count, bytes[p] &- 48 < 10 { p += 1 } }
        if p < bytes.count, bytes[p] == UInt8(ascii: ".") {
            p += 1
            guard p < bytes.count, bytes[p] &- 48 < 10 else { return nil }
            while p < bytes.count, bytes[p] &- 48 < 10 { p += 1 }
        }
        if p < bytes.count, bytes[p] | 0x20 == UInt8(ascii: "e") {
            p += 1
            if p < bytes.count, bytes[p] == UInt8(ascii: "+") || bytes[p] == UInt8(ascii: "-") { p += 1 }
            guard p < bytes.count, bytes[p] &- 48 < 10 else { return nil }
            while p < bytes.count, bytes[p] &- 48 < 10 { p += 1 }
        }
        guard p - start <= 32 else { return nil }
        // Integers of up to 15 digits (every NumericDate) are exact in a Double: no text round trip.
        var integer: Int64 = 0
        var negative = false
        var i = start
        if bytes[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        if p - i <= 15 {
            while i < p, bytes[i] &- 48 < 10 { integer = integer * 10 + Int64(bytes[i] &- 48); i += 1 }
            if i == p { return .number(negative ? -Double(integer) : Double(integer)) }
        }
        guard let value = Double(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<p]), as: UTF8.self)),
              value.isFinite else { return nil }
        return .number(value)
    }

    mutating func hex4() -> UInt32? {
        guard p + 4 <= bytes.count else { return nil }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[p]
            let d: UInt32
            if b &- 48 < 10 { d = UInt32(b - 48) } else if (b | 0x20) &- 97 < 6 { d = UInt32((b | 0x20) - 87) } else { return nil }
            v = v << 4 | d
            p += 1
        }
        return v
    }

    mutating func string() -> String? {
        guard p < bytes.count, bytes[p] == UInt8(ascii: "\"") else { return nil }
        p += 1
        // Fast path: most JOSE strings have no escapes, so they are validated and taken whole.
        var end = p
        var high: UInt8 = 0
        while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), bytes[end] >= 0x20 {
            high |= bytes[end]
            end += 1
        }
        if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
            let run = UnsafeRawBufferPointer(rebasing: bytes[p..<end])
            // ASCII (every claim of an Entra token) needs no UTF-8 validation.
            let text = high < 0x80 ? String(decoding: run, as: UTF8.self) : String(validating: run, as: UTF8.self)
            p = end + 1
            return text
        }
        var out: [UInt8] = []
        while p < bytes.count {
            let b = bytes[p]
            if b == UInt8(ascii: "\"") {
                p += 1
                // Invalid UTF-8 is refused rather than repaired: a repaired claim is another claim.
                return String(validating: out, as: UTF8.self)
            }
            guard b >= 0x20 else { return nil }
            if b == UInt8(ascii: "\\") {
                p += 1
                guard p < bytes.count else { return nil }
                let e = bytes[p]
                p += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(8)
                case UInt8(ascii: "f"): out.append(12)
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "u"):
                    guard var scalar = hex4() else { return nil }
                    if scalar >= 0xD800 && scalar < 0xDC00 {
                        guard p + 2 <= bytes.count, bytes[p] == UInt8(ascii: "\\"), bytes[p + 1] == UInt8(ascii: "u") else { return nil }
                        p += 2
                        guard let low = hex4(), low >= 0xDC00, low < 0xE000 else { return nil }
                        scalar = 0x10000 + (scalar - 0xD800) << 10 + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { return nil }
                    out.append(contentsOf: Array(String(Character(unicode)).utf8))
                default:
                    return nil
                }
                continue
            }
            out.append(b)
            p += 1
        }
        return nil
    }
}

extension JSONValue {
    /// Compact JSON text (for Easy Auth's principal and `portcullis jwks`).
    public var serialized: String {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Writes compact JSON as bytes; strings are copied whole unless they need escapes.
    func write(to out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n):
            if n == n.rounded(), abs(n) < 1e15 { out.append(contentsOf: String(Int64(n)).utf8) } else { out.append(contentsOf: String(n).utf8) }
        case .string(let s): Self.writeQuoted(s, to: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, element) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                element.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            for (i, member) in o.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeQuoted(member.0, to: &out)
                out.append(UInt8(ascii: ":"))
                member.1.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func writeQuoted(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Claim values almost never need an escape: copy them whole, from the String's own
        // contiguous bytes (iterating a UTF8View goes through its index machinery).
        let copied: Bool? = s.utf8.withContiguousStorageIfAvailable { bytes in
            for b in bytes where b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") { return false }
            out.append(contentsOf: bytes)
            return true
        }
        if copied == true {
            out.append(UInt8(ascii: "\""))
            return
        }
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), b])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), b])
            case 0..<0x20:
                let hex: StaticString = "0123456789abcdef"
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), 48, 48, hex.utf8Start[Int(b >> 4)], hex.utf8Start[Int(b & 15)]])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
