// Character classes of RFC 9110 as bit tests, so classifying a byte is two shifts and no table load.

@inline(__always)
func bit(_ b: UInt8, _ lo: UInt64, _ hi: UInt64) -> Bool {
    b < 64 ? (lo >> UInt64(b)) & 1 == 1 : b < 128 ? (hi >> UInt64(b - 64)) & 1 == 1 : false
}

/// tchar: "!#$%&'*+-.^_`|~", DIGIT, ALPHA.
@inline(__always)
func isTChar(_ b: UInt8) -> Bool {
    bit(b, 0x03FF_6CFA_0000_0000, 0x57FF_FFFF_C7FF_FFFE)
}

/// reg-name bytes of a URI host (RFC 3986 §3.2.2): unreserved, "%" of pct-encoded, sub-delims.
@inline(__always)
func isRegNameByte(_ b: UInt8) -> Bool {
    bit(b, 0x2BFF_7FF2_0000_0000, 0x47FF_FFFE_87FF_FFFE)
}

/// Bytes allowed in a field value: VCHAR, SP, HTAB and obs-text; never NUL, CR, LF or other controls.
@inline(__always)
func isFieldByte(_ b: UInt8) -> Bool {
    b >= 0x20 ? b != 0x7F : b == 0x09
}

/// Bytes allowed in a request target: VCHAR and obs-text (no space, no controls).
@inline(__always)
func isTargetByte(_ b: UInt8) -> Bool {
    b > 0x20 && b != 0x7F
}

@inline(__always)
func lower(_ b: UInt8) -> UInt8 {
    (b &- 65) < 26 ? b | 0x20 : b
}

@inline(__always)
func isHexDigit(_ b: UInt8) -> Bool {
    (b &- 48) < 10 || (lower(b) &- 97) < 6
}

@inline(__always)
func hexValue(_ b: UInt8) -> UInt64 {
    (b &- 48) < 10 ? UInt64(b &- 48) : UInt64(lower(b) &- 87)
}

extension UnsafeRawBufferPointer {
    /// Case-insensitive comparison of `range` with a lower-case ASCII literal.
    @inline(__always)
    func equalsLowercase(_ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        let lit = literal.utf8Start
        var i = 0
        while i < range.count {
            if lower(self[range.lowerBound + i]) != lit[i] { return false }
            i += 1
        }
        return true
    }

    /// Case-insensitive comparison of two ranges of this buffer (or another).
    @inline(__always)
    func equalsCaseInsensitive(_ range: Range<Int>, _ other: UnsafeRawBufferPointer, _ otherRange: Range<Int>) -> Bool {
        guard range.count == otherRange.count else { return false }
        var i = 0
        while i < range.count {
            if lower(self[range.lowerBound + i]) != lower(other[otherRange.lowerBound + i]) { return false }
            i += 1
        }
        return true
    }

    /// Index of the first CRLFCRLF at or after `from`, scanning no further than `limit`.
    @inline(__always)
    func findHeadEnd(from: Int, limit: Int) -> Int? {
        var i = Swift.max(from, 0)
        let end = Swift.min(limit, count) - 3
        while i < end {
            if self[i + 3] == 0x0A {
                if self[i] == 0x0D && self[i + 1] == 0x0A && self[i + 2] == 0x0D { return i }
                i += 1
            } else if self[i + 3] == 0x0D {
                i += 1
            } else {
                i += 4
            }
        }
        return nil
    }
}

/// Walks comma-separated list elements of a field value, trimming OWS; empty elements are skipped.
@inline(__always)
public func forEachListElement(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ body: (Range<Int>) -> Bool) {
    var start = range.lowerBound
    while start < range.upperBound {
        var end = start
        while end < range.upperBound && bytes[end] != UInt8(ascii: ",") { end += 1 }
        var a = start, b = end
        while a < b && (bytes[a] == 0x20 || bytes[a] == 0x09) { a += 1 }
        while b > a && (bytes[b - 1] == 0x20 || bytes[b - 1] == 0x09) { b -= 1 }
        if a < b && !body(a..<b) { return }
        start = end + 1
    }
}
