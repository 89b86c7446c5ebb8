/// Parses the field lines of a head from `start` to `end` (the index of the final CRLFCRLF's
/// first CR, i.e. just past the last field line's CR LF minus 2).
///
/// Rejected here, whatever the message: obs-fold, whitespace before the colon, an empty or
/// non-token name, NUL, bare CR, bare LF and other controls in a value.
@inline(__always)
func parseFieldLines(
    _ bytes: UnsafeRawBufferPointer, from start: Int, end: Int, maxFields: Int,
    _ onField: (inout HeaderField) throws(HTTPError) -> Void
) throws(HTTPError) -> Int {
    var p = start
    var count = 0
    // Each iteration consumes one "name: value\r\n"; `end` points at the CR of the blank line.
    while p < end + 2 {
        let first = bytes[p]
        if first == 0x20 || first == 0x09 {
            throw .bad("obs_fold", "folded header lines are not accepted")
        }
        let nameStart = p
        while p < end, isTChar(bytes[p]) { p += 1 }
        guard p < end, bytes[p] == UInt8(ascii: ":") else {
            if p < end, bytes[p] == 0x20 || bytes[p] == 0x09 {
                throw .bad("space_before_colon", "whitespace between header name and colon")
            }
            throw .bad("bad_header_name", "malformed header field name")
        }
        guard p > nameStart else { throw .bad("empty_header_name", "empty header field name") }
        let nameEnd = p
        p += 1
        while p < end, bytes[p] == 0x20 || bytes[p] == 0x09 { p += 1 }
        let valueStart = p
        while p < end + 2, bytes[p] != 0x0D {
            guard isFieldByte(bytes[p]) else {
                throw .bad("bad_header_value", "control character in header value")
            }
            p += 1
        }
        guard p + 1 < bytes.count, bytes[p] == 0x0D, bytes[p + 1] == 0x0A else {
            throw .bad("bare_cr", "bare CR in header")
        }
        var valueEnd = p
        while valueEnd > valueStart, bytes[valueEnd - 1] == 0x20 || bytes[valueEnd - 1] == 0x09 { valueEnd -= 1 }
        count += 1
        if count > maxFields { throw .tooManyHeaders }
        var field = HeaderField(
            nameStart: Int32(nameStart), nameEnd: Int32(nameEnd),
            valueStart: Int32(valueStart), valueEnd: Int32(valueEnd),
            kind: HeaderKind.classify(bytes, nameStart..<nameEnd)
        )
        try onField(&field)
        p += 2
    }
    return count
}

/// Parses a Content-Length value: a list whose elements must all be the same run of digits.
@inline(__always)
func parseContentLength(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, previous: UInt64?) throws(HTTPError) -> UInt64 {
    var result = previous
    var failed = false
    forEachListElement(bytes, range) { element in
        guard element.count <= 18 else { failed = true; return false }
        var value: UInt64 = 0
        for i in element {
            let digit = bytes[i] &- 48
            guard digit < 10 else { failed = true; return false }
            value = value * 10 + UInt64(digit)
        }
        if let result, result != value { failed = true; return false }
        result = value
        return true
    }
    guard !failed, let result else {
        throw .bad("bad_content_length", "invalid or conflicting Content-Length")
    }
    return result
}

/// Reads a Transfer-Encoding value; only `chunked`, once and last, is accepted.
///
/// A coding before any `chunked` is one we do not implement: 501 (RFC 9112 §6.1), whether or not
/// `chunked` follows, since we could not decode the content either way. Anything after `chunked`
/// (a second `chunked` or another coding) is 400: the body's length could not be determined
/// reliably (RFC 9112 §6.3), which is a framing error before it is an unsupported feature.
@inline(__always)
func parseTransferEncoding(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, chunkedSeen: inout Bool) throws(HTTPError) {
    var error: HTTPError?
    var any = false
    forEachListElement(bytes, range) { element in
        any = true
        if bytes.equalsLowercase(element, "chunked") {
            if chunkedSeen { error = .bad("chunked_twice", "chunked applied more than once"); return false }
            chunkedSeen = true
            return true
        }
        if chunkedSeen {
            error = .bad("chunked_not_final", "chunked must be the final transfer coding")
        } else {
            error = .unknownCoding
        }
        return false
    }
    if let error { throw error }
    if !any { throw .bad("empty_transfer_encoding", "empty Transfer-Encoding") }
}
