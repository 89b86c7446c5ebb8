/// Strict base64url (RFC 4648 §5) without padding, as JWS uses it: any byte outside the
/// alphabet, `=` padding, or a length that cannot come from whole bytes is refused.
///
/// `package`: the dev issuer and the token sources encode and decode JOSE segments with it too.
package enum Base64URL {
    /// base64url digit values; 0xFF marks a byte outside the alphabet (padding included).
    private static let digits: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    /// Four digits at a time into an output written in place: once per token segment on the
    /// uncached path (a table lookup per byte, no per-byte append).
    package static func decode(_ input: UnsafeRawBufferPointer) -> [UInt8]? {
        let n = input.count
        if n % 4 == 1 { return nil }
        let outCount = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1)
        var valid = true
        let out = digits.withUnsafeBufferPointer { table in
            [UInt8](unsafeUninitializedCapacity: outCount) { buffer, initialized in
                var i = 0, o = 0
                while i + 4 <= n {
                    let a = table[Int(input[i])], b = table[Int(input[i + 1])]
                    let c = table[Int(input[i + 2])], d = table[Int(input[i + 3])]
                    guard (a | b | c | d) & 0xC0 == 0 else { valid = false; break }
                    let word = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                    buffer[o] = UInt8(truncatingIfNeeded: word >> 16)
                    buffer[o + 1] = UInt8(truncatingIfNeeded: word >> 8)
                    buffer[o + 2] = UInt8(truncatingIfNeeded: word)
                    i += 4
                    o += 3
                }
                if valid, i < n {
                    // Two or three digits left: one or two bytes, and the unused low bits must be
                    // zero, or two encodings would decode to the same bytes.
                    var word: UInt32 = 0
                    for k in i..<n {
                        let v = table[Int(input[k])]
                        guard v & 0xC0 == 0 else { valid = false; break }
                        word = word << 6 | UInt32(v)
                    }
                    if valid {
                        if n - i == 2 {
                            valid = word & 0xF == 0
                            buffer[o] = UInt8(truncatingIfNeeded: word >> 4)
                            o += 1
                        } else {
                            valid = word & 0x3 == 0
                            buffer[o] = UInt8(truncatingIfNeeded: word >> 10)
                            buffer[o + 1] = UInt8(truncatingIfNeeded: word >> 2)
                            o += 2
                        }
                    }
                }
                initialized = valid ? o : 0
            }
        }
        return valid ? out : nil
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
    /// `prefix` comes first in the same buffer (a header name), saving a concatenation.
    package static func standard(_ bytes: some Collection<UInt8>, prefix: StaticString = "") -> String {
        String(decoding: encodeBytes(bytes, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", pad: true, prefix: prefix),
               as: UTF8.self)
    }

    private static func encodeBytes(_ bytes: some Collection<UInt8>, alphabet: StaticString, pad: Bool, prefix: StaticString = "") -> [UInt8] {
        let table = alphabet.utf8Start
        let input = Array(bytes)
        let n = input.count
        let digits = pad ? (n + 2) / 3 * 4 : (n * 4 + 2) / 3
        let total = prefix.utf8CodeUnitCount + digits
        return [UInt8](unsafeUninitializedCapacity: total) { out, initialized in
            var o = 0
            for k in 0..<prefix.utf8CodeUnitCount { out[o] = prefix.utf8Start[k]; o += 1 }
            input.withUnsafeBufferPointer { input in
                var i = 0
                while i + 3 <= n {
                    let word = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
                    out[o] = table[Int(word >> 18)]
                    out[o + 1] = table[Int(word >> 12 & 63)]
                    out[o + 2] = table[Int(word >> 6 & 63)]
                    out[o + 3] = table[Int(word & 63)]
                    i += 3
                    o += 4
                }
                if n - i == 1 {
                    let word = UInt32(input[i]) << 16
                    out[o] = table[Int(word >> 18)]
                    out[o + 1] = table[Int(word >> 12 & 63)]
                    o += 2
                    if pad { out[o] = UInt8(ascii: "="); out[o + 1] = UInt8(ascii: "="); o += 2 }
                } else if n - i == 2 {
                    let word = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8
                    out[o] = table[Int(word >> 18)]
                    out[o + 1] = table[Int(word >> 12 & 63)]
                    out[o + 2] = table[Int(word >> 6 & 63)]
                    o += 3
                    if pad { out[o] = UInt8(ascii: "="); o += 1 }
                }
            }
            initialized = o
        }
    }
}
