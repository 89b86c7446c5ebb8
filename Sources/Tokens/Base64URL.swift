/// Strict base64url (RFC 4648 §5) without padding, as JWS uses it: any byte outside the
/// alphabet, `=` padding, or a length that cannot come from whole bytes is refused.
///
/// `package`: the dev issuer and the token sources encode and decode JOSE segments with it too.
package enum Base64URL {
    @inline(__always)
    static func value(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): b - 65
        case UInt8(ascii: "a")...UInt8(ascii: "z"): b - 71
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b + 4
        case UInt8(ascii: "-"): 62
        case UInt8(ascii: "_"): 63
        default: nil
        }
    }

    package static func decode(_ input: UnsafeRawBufferPointer) -> [UInt8]? {
        if input.count % 4 == 1 { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(input.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for b in input {
            guard let v = value(b) else { return nil }
            accumulator = accumulator << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        // Leftover bits must be zero, or two encodings would decode to the same bytes.
        if bits > 0, accumulator & ((1 << UInt32(bits)) - 1) != 0 { return nil }
        return out
    }

    package static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { decode(UnsafeRawBufferPointer($0)) }
    }

    /// Standard base64 with its padding (HTTP Basic credentials): the padding must be exactly
    /// what the length calls for, and the alphabet is the standard one only.
    package static func decodeStandard(_ text: String) -> [UInt8]? {
        var body = Array(text.utf8)
        guard body.count % 4 == 0 else { return nil }
        var padding = 0
        while padding < 2, body.last == UInt8(ascii: "=") {
            body.removeLast()
            padding += 1
        }
        var mapped: [UInt8] = []
        mapped.reserveCapacity(body.count)
        for b in body {
            switch b {
            case UInt8(ascii: "+"): mapped.append(UInt8(ascii: "-"))
            case UInt8(ascii: "/"): mapped.append(UInt8(ascii: "_"))
            case UInt8(ascii: "-"), UInt8(ascii: "_"): return nil
            default: mapped.append(b)
            }
        }
        return mapped.withUnsafeBytes { decode($0) }
    }

    package static func encode(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: encodeBytes(bytes, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", pad: false), as: UTF8.self)
    }

    /// Standard base64 with padding (for X-MS-CLIENT-PRINCIPAL).
    package static func standard(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: encodeBytes(bytes, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", pad: true), as: UTF8.self)
    }

    private static func encodeBytes(_ bytes: some Collection<UInt8>, alphabet: StaticString, pad: Bool) -> [UInt8] {
        let table = alphabet.utf8Start
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for b in bytes {
            accumulator = accumulator << 8 | UInt32(b)
            bits += 8
            while bits >= 6 {
                bits -= 6
                out.append(table[Int(accumulator >> UInt32(bits) & 63)])
            }
        }
        if bits > 0 { out.append(table[Int(accumulator << UInt32(6 - bits) & 63)]) }
        if pad { while out.count % 4 != 0 { out.append(UInt8(ascii: "=")) } }
        return out
    }
}
