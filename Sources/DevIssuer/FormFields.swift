/// An `application/x-www-form-urlencoded` body or query string, parsed strictly from bytes:
/// `name=value` pairs joined by `&`, `+` for a space, `%XX` escapes with two hex digits, no raw
/// controls or non-ASCII bytes, no empty pair, no name twice (two `client_id`s would be read
/// differently by two servers), the decoded text valid UTF-8.
struct FormFields: Sendable {
    struct Malformed: Error, Sendable {
        let reason: String
    }

    static let maxFields = 64

    private(set) var fields: [(name: String, value: String)] = []

    init() {}

    init(parsing bytes: UnsafeRawBufferPointer) throws(Malformed) {
        guard !bytes.isEmpty else { return }
        var start = 0
        while start <= bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "&") { end += 1 }
            guard end > start else { throw Malformed(reason: "an empty parameter") }
            let pair = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
            guard let equals = pair.firstIndex(of: UInt8(ascii: "=")) else {
                throw Malformed(reason: "a parameter without '='")
            }
            let name = try Self.decode(UnsafeRawBufferPointer(rebasing: pair[..<equals]))
            let value = try Self.decode(UnsafeRawBufferPointer(rebasing: pair[(equals + 1)...]))
            guard !name.isEmpty else { throw Malformed(reason: "a parameter without a name") }
            guard self[name] == nil else { throw Malformed(reason: "the parameter '\(name)' appears twice") }
            guard fields.count < Self.maxFields else { throw Malformed(reason: "more than \(Self.maxFields) parameters") }
            fields.append((name, value))
            start = end + 1
        }
    }

    init(parsing bytes: [UInt8]) throws(Malformed) {
        let parsed = bytes.withUnsafeBytes { raw in Result { () throws(Malformed) in try FormFields(parsing: raw) } }
        self = try parsed.get()
    }

    subscript(name: String) -> String? {
        fields.first { $0.name == name }?.value
    }

    /// One percent-encoded component (a name, a value, or an HTTP Basic credential half).
    static func decode(_ bytes: UnsafeRawBufferPointer) throws(Malformed) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "+"):
                out.append(0x20)
            case UInt8(ascii: "%"):
                guard i + 2 < bytes.count, let high = hex(bytes[i + 1]), let low = hex(bytes[i + 2]) else {
                    throw Malformed(reason: "a '%' not followed by two hex digits")
                }
                out.append(high << 4 | low)
                i += 2
            case 0x21...0x7E:
                // A raw '=' in a value is kept: the pair was split at its first '='.
                out.append(b)
            default:
                throw Malformed(reason: "a control, space or non-ASCII byte that is not percent-encoded")
            }
            i += 1
        }
        guard let text = String(validating: out, as: UTF8.self) else { throw Malformed(reason: "a value that is not UTF-8") }
        return text
    }

    private static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - 48
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - 87
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - 55
        default: nil
        }
    }
}
