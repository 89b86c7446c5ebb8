extension ConfigNode {
    /// A path a request is matched against (`auth.excluded_paths`, a route's `paths`): exact
    /// (`/healthz`) or a prefix (`/public/*`). Requests are matched in their normal form (escapes
    /// of unreserved characters decoded, other escapes' hex upper-cased, no `//`, no dot
    /// segments), so a pattern must be written in that form too: one that is not could never match.
    func pathPattern() throws(ConfigError) -> String {
        let path = try string()
        guard path.hasPrefix("/"), !path.contains("?"), !path.contains("#") else {
            throw error("'\(path)' is not a path; write an absolute path such as /healthz, or a prefix such as /public/*")
        }
        guard !path.dropLast(2).contains("*"), !(path.hasSuffix("*") && !path.hasSuffix("/*")) else {
            throw error("'\(path)': '*' is allowed only as a final '/*' prefix marker")
        }
        let base = path.hasSuffix("/*") ? path.dropLast(2) : path[...]
        let bytes = Array(base.utf8)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            guard b > 0x20, b < 0x7F, b != UInt8(ascii: "\\") else {
                throw error("'\(path)': write spaces, backslashes and non-ASCII characters percent-encoded (e.g. %20)")
            }
            if b == UInt8(ascii: "%") {
                guard i + 2 < bytes.count, let hi = hexDigit(bytes[i + 1]), let lo = hexDigit(bytes[i + 2]) else {
                    throw error("'\(path)': '%' must start an escape of two hex digits")
                }
                let value = hi << 4 | lo
                let escape = String(decoding: bytes[i...(i + 2)], as: UTF8.self)
                if value == UInt8(ascii: "/") || value == 0 || value == UInt8(ascii: "\\") {
                    throw error("'\(path)': \(escape) can never match; such requests are refused with 400")
                }
                if isUnreservedByte(value) {
                    throw error("'\(path)': write '\(Character(Unicode.Scalar(value)))' instead of \(escape); requests are matched with such escapes decoded")
                }
                if escape != escape.uppercased() {
                    throw error("'\(path)': write \(escape.uppercased()); requests are matched with escapes in upper case")
                }
                i += 3
                continue
            }
            i += 1
        }
        let segments = base.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        for (index, segment) in segments.enumerated() {
            if segment.isEmpty && (index < segments.count - 1 || path.hasSuffix("/*")) {
                throw error("'\(path)': '//' can never match; requests are matched with repeated slashes merged")
            }
            let name = segment.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            if name == "." || name == ".." {
                throw error("'\(path)': '.' and '..' segments can never match; requests are matched with them resolved")
            }
        }
        return path
    }
}

private func hexDigit(_ b: UInt8) -> UInt8? {
    switch b {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
    default: nil
    }
}

/// RFC 3986 unreserved: ALPHA DIGIT "-" "." "_" "~".
private func isUnreservedByte(_ b: UInt8) -> Bool {
    switch b {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        true
    default:
        b == UInt8(ascii: "-") || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "~")
    }
}
