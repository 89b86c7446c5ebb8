/// What reading one field line found.
enum FieldLineRead {
    case field(HeaderField, next: Int)
    /// The empty line that ends the section; `next` is just past its LF.
    case end(next: Int)
    /// The bytes ran out at the bound before the line's LF.
    case needMore
}

/// Reads the field line (or the empty line) that starts at `start`, looking at no byte at or
/// past `bound`.
///
/// Rejected here, whatever the message: obs-fold, whitespace before the colon, an empty or
/// non-token name, NUL, bare CR, bare LF and other controls in a value. Each is thrown as soon
/// as it is seen, even before the rest of the head has arrived; a caller that must not refuse
/// an incomplete head (RequestParser) decides what an early error means.
@inline(__always)
func readFieldLine(_ bytes: UnsafeRawBufferPointer, at start: Int, bound: Int) throws(HTTPError) -> FieldLineRead {
    guard start < bound else { return .needMore }
    let first = bytes[start]
    if first == 0x0D {
        guard start + 1 < bound else { return .needMore }
        if bytes[start + 1] == 0x0A { return .end(next: start + 2) }
        // A CR that does not end the section starts no name: bad_header_name below.
    }
    if first == 0x20 || first == 0x09 {
        throw .bad("obs_fold", "folded header lines are not accepted")
    }
    guard let nameEnd = scanToken(bytes, from: start, bound: bound) else { return .needMore }
    guard bytes[nameEnd] == UInt8(ascii: ":") else {
        if bytes[nameEnd] == 0x20 || bytes[nameEnd] == 0x09 {
            throw .bad("space_before_colon", "whitespace between header name and colon")
        }
        throw .bad("bad_header_name", "malformed header field name")
    }
    guard nameEnd > start else { throw .bad("empty_header_name", "empty header field name") }
    var p = nameEnd + 1
    while p < bound, bytes[p] == 0x20 || bytes[p] == 0x09 { p += 1 }
    let valueStart = p
    guard let cr = try scanFieldValue(bytes, from: p, bound: bound) else { return .needMore }
    guard cr + 1 < bound else { return .needMore }
    guard bytes[cr + 1] == 0x0A else { throw .bad("bare_cr", "bare CR in header") }
    var valueEnd = cr
    while valueEnd > valueStart, bytes[valueEnd - 1] == 0x20 || bytes[valueEnd - 1] == 0x09 { valueEnd -= 1 }
    let field = HeaderField(
        nameStart: Int32(start), nameEnd: Int32(nameEnd),
        valueStart: Int32(valueStart), valueEnd: Int32(valueEnd),
        kind: HeaderKind.classify(bytes, start..<nameEnd)
    )
    return .field(field, next: cr + 2)
}

/// Reads the field lines from `start` through the empty line that ends them, calling `onField`
/// for each in order. Returns the index just past the empty line, or nil when the bytes run out
/// at `bound` before it.
@inline(__always)
func parseFieldLines(
    _ bytes: UnsafeRawBufferPointer, from start: Int, bound: Int, maxFields: Int,
    _ onField: (inout HeaderField) throws(HTTPError) -> Void
) throws(HTTPError) -> Int? {
    var p = start
    var count = 0
    while true {
        switch try readFieldLine(bytes, at: p, bound: bound) {
        case .needMore:
            return nil
        case .end(let next):
            return next
        case .field(var field, let next):
            count += 1
            if count > maxFields { throw .tooManyHeaders }
            try onField(&field)
            p = next
        }
    }
}

/// The same for a section whose end is already known: `end` is the first CR of its CRLFCRLF
/// (found by `findHeadEnd`), so the lines run from `start` to `end + 2`.
@inline(__always)
func parseFieldLines(
    _ bytes: UnsafeRawBufferPointer, from start: Int, end: Int, maxFields: Int,
    _ onField: (inout HeaderField) throws(HTTPError) -> Void
) throws(HTTPError) {
    // No line can end before the first CRLFCRLF (a line holds no CR or LF but its own), and every
    // scan stops at that CRLFCRLF's CRs, so the lines read are exactly those up to `end + 2`.
    // The check keeps that an invariant rather than an assumption.
    guard try parseFieldLines(bytes, from: start, bound: end + 4, maxFields: maxFields, onField) == end + 4 else {
        throw .bad("bad_header_name", "malformed header field name")
    }
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
