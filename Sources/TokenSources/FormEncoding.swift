/// `application/x-www-form-urlencoded` and query strings for token requests: every byte but
/// RFC 3986's unreserved characters is percent-encoded, so a secret with `+`, `&` or `=` in it
/// arrives as it is.
enum FormEncoding {
    static func encode(_ fields: [(String, String)]) -> [UInt8] {
        var out: [UInt8] = []
        for (index, (name, value)) in fields.enumerated() {
            if index > 0 { out.append(UInt8(ascii: "&")) }
            append(name, to: &out)
            out.append(UInt8(ascii: "="))
            append(value, to: &out)
        }
        return out
    }

    static func query(_ fields: [(String, String)]) -> String {
        String(decoding: encode(fields), as: UTF8.self)
    }

    private static func append(_ text: String, to out: inout [UInt8]) {
        let hex: StaticString = "0123456789ABCDEF"
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(b)
            default:
                out += [UInt8(ascii: "%"), hex.utf8Start[Int(b >> 4)], hex.utf8Start[Int(b & 15)]]
            }
        }
    }
}
