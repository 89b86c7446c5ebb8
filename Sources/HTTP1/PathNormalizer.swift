/// The one spelling of a request path that the rules judge and the upstream receives
/// (RFC 3986 §6.2.2, as Envoy's `normalize_path` and `merge_slashes` do it).
///
/// Percent-escapes of unreserved characters (ALPHA DIGIT `-` `.` `_` `~`) are decoded, the hex
/// of every other escape is upper-cased, repeated slashes are merged and `.` and `..` segments
/// are resolved. A path that cannot be normalized without guessing what a backend would make of
/// it is refused: an encoded `/` (`%2F`) or NUL (`%00`), a backslash raw or encoded (`%5C`;
/// some servers read it as `/`), a malformed escape, a `..` that climbs above the root, and a dot
/// segment with `;` parameters (`..;`, which Java servlet containers resolve as `..`). Other
/// escapes are never decoded, so `%252F` stays what it is and nothing is decoded twice.
///
/// The normal form is never longer than the input and every byte is read before its place is
/// written, so the output may be the input's own memory: normalizing in place costs no
/// allocation, and a path that is already normal (``isNormal(_:)``, one pass) is not written.
public enum PathNormalizer {
    /// Every refusal has this log code; the reason says which rule the path broke.
    public static let code: StaticString = "path_not_normalizable"

    public static let encodedSlash = refusal("encoded slash (%2F) in the path")
    public static let encodedNUL = refusal("encoded NUL (%00) in the path")
    public static let backslash = refusal("backslash in the path")
    public static let malformedEscape = refusal("malformed percent-escape in the path")
    public static let aboveRoot = refusal("the path climbs above the root with '..'")
    public static let dotSegmentWithParameters = refusal("dot segment with ';' parameters in the path")
    public static let notAbsolute = refusal("the path does not start with '/'")

    private static func refusal(_ reason: StaticString) -> HTTPError {
        HTTPError(status: 400, code: code, reason: reason)
    }

    /// Whether `path` is already in normal form. True exactly when ``normalize(_:into:)`` would
    /// return it unchanged, except that any `%` sends a path to the full pass.
    @inline(__always)
    public static func isNormal(_ path: UnsafeRawBufferPointer) -> Bool {
        let n = path.count
        guard n > 0, path[0] == slash else { return false }
        var i = 0
        while i < n {
            let b = path[i]
            if b == percent || b == backslashByte { return false }
            if b == slash, i + 1 < n {
                let next = path[i + 1]
                if next == slash { return false }
                if next == dot {
                    // A segment that starts with a dot: ".", "..", ".;…" and "..;…" are not normal.
                    let c = i + 2 < n ? path[i + 2] : slash
                    if c == slash || c == semicolon { return false }
                    if c == dot {
                        let d = i + 3 < n ? path[i + 3] : slash
                        if d == slash || d == semicolon { return false }
                    }
                }
            }
            i += 1
        }
        return true
    }

    /// Writes the normal form of `path` (which must start with `/`) into `out` and returns its
    /// length. `out` must hold at least `path.count` bytes; it may be `path`'s own memory.
    public static func normalize(_ path: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) throws(HTTPError) -> Int {
        var changed = false
        return try normalize(path, into: out, changed: &changed)
    }

    static func normalize(_ path: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer,
                          changed: inout Bool) throws(HTTPError) -> Int {
        let n = path.count
        guard n > 0, path[0] == slash else { throw notAbsolute }
        precondition(out.count >= n, "the output must hold the whole input")
        // Invariant between segments: out[0..<w] is the path so far and ends with "/"; w <= r.
        out[0] = slash
        var r = 1
        var w = 1
        while r < n {
            let start = w
            while r < n, path[r] != slash {
                let b = path[r]
                if b == percent {
                    guard r + 2 < n, isHexDigit(path[r + 1]), isHexDigit(path[r + 2]) else { throw malformedEscape }
                    let hi = path[r + 1], lo = path[r + 2]
                    let value = UInt8(hexValue(hi) << 4 | hexValue(lo))
                    switch value {
                    case slash: throw encodedSlash
                    case 0: throw encodedNUL
                    case backslashByte: throw backslash
                    default: break
                    }
                    if isUnreserved(value) {
                        out[w] = value
                        w += 1
                        changed = true
                    } else {
                        let upperHi = upper(hi), upperLo = upper(lo)
                        if upperHi != hi || upperLo != lo { changed = true }
                        out[w] = percent
                        out[w + 1] = upperHi
                        out[w + 2] = upperLo
                        w += 3
                    }
                    r += 3
                } else if b == backslashByte {
                    throw backslash
                } else {
                    out[w] = b
                    w += 1
                    r += 1
                }
            }
            let slashFollows = r < n
            if slashFollows { r += 1 }
            let length = w - start
            if length == 0 {
                // An empty segment: a repeated slash, or the end of a path that ends with "/".
                if slashFollows { changed = true }
                continue
            }
            let first = out[start]
            if first == dot {
                let second = length > 1 ? out[start + 1] : 0
                if length == 1 {
                    w = start
                    changed = true
                    continue
                }
                if length == 2, second == dot {
                    guard start > 1 else { throw aboveRoot }
                    // Drop the previous segment: back to the slash before it.
                    var p = start - 2
                    while out[p] != slash { p -= 1 }
                    w = p + 1
                    changed = true
                    continue
                }
                if second == semicolon || (second == dot && out[start + 2] == semicolon) {
                    throw dotSegmentWithParameters
                }
            }
            if slashFollows {
                out[w] = slash
                w += 1
            }
        }
        return w
    }

    /// RFC 3986 unreserved: ALPHA DIGIT "-" "." "_" "~".
    @inline(__always)
    static func isUnreserved(_ b: UInt8) -> Bool {
        (b &- 65) < 26 || (b &- 97) < 26 || (b &- 48) < 10 || b == 0x2D || b == dot || b == 0x5F || b == 0x7E
    }

    @inline(__always)
    static func upper(_ b: UInt8) -> UInt8 { (b &- 97) < 26 ? b & ~0x20 : b }

    static let slash = UInt8(ascii: "/")
    static let dot = UInt8(ascii: ".")
    static let percent = UInt8(ascii: "%")
    static let semicolon = UInt8(ascii: ";")
    static let backslashByte = UInt8(ascii: "\\")
}

extension RequestHead {
    /// Rewrites the path in place into its normal form (``PathNormalizer``) and shortens
    /// `path` to it; the query and every other range are untouched. An asterisk-form target
    /// (`OPTIONS *`) has no path to normalize. Returns whether the spelling changed.
    ///
    /// `bytes` is the buffer the head was parsed from.
    public mutating func normalizePath(in bytes: UnsafeMutableRawBufferPointer) throws(HTTPError) -> Bool {
        let original = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[path])
        if PathNormalizer.isNormal(original) { return false }
        if original.count == 1, original[0] == UInt8(ascii: "*") { return false }
        var changed = false
        let out = UnsafeMutableRawBufferPointer(rebasing: bytes[path])
        let length = try PathNormalizer.normalize(original, into: out, changed: &changed)
        path = path.lowerBound..<(path.lowerBound + length)
        return changed
    }
}
