// The request-head parser and field-line reader as they were before the single-pass, word-at-a-time
// rewrite (main at 0cfd1af), kept verbatim but for their names: the oracle the differential test
// holds the new parser to. Nothing here runs outside the tests. The byte classes, list, length and
// coding helpers they call were not changed and are the module's own. HeaderKind.classify was
// changed too (word compares), so it is here as `referenceClassify`.

@testable import HTTP1

/// A strict HTTP/1.1 request-head parser over bytes (RFC 9112), incremental across reads.
///
/// It never copies: the parsed ``RequestHead`` holds offsets into the caller's buffer. Anything
/// that could be read two ways by two servers (the root of request smuggling) is an error here.
struct ReferenceRequestParser: Sendable {
    var limits: RequestLimits
    /// How far a previous call already looked for the end of the head.
    private var scanned = 0

    init(limits: RequestLimits = .init()) {
        self.limits = limits
    }

    /// Forgets the scan position, for the next request on the connection.
    mutating func reset() { scanned = 0 }

    /// Parses the head at the start of `bytes`. Returns false while more bytes are needed.
    mutating func parse(_ bytes: UnsafeRawBufferPointer, into head: inout RequestHead) throws(HTTPError) -> Bool {
        // RFC 9112 §2.2: empty lines before the request line are ignored.
        var start = 0
        while start + 1 < bytes.count, bytes[start] == 0x0D, bytes[start + 1] == 0x0A, start < 64 { start += 2 }
        if start < bytes.count, bytes[start] == 0x0D || bytes[start] == 0x0A, start + 1 >= bytes.count { return false }

        let limit = start + limits.maxHeadBytes
        guard let end = bytes.findHeadEnd(from: max(scanned - 3, start), limit: limit) else {
            scanned = bytes.count
            try checkPartialHead(bytes, start: start)
            return false
        }
        scanned = 0
        head.reset()
        try parseRequestLine(bytes, start: start, into: &head)
        let lineEnd = head.length
        try parseHeaders(bytes, from: lineEnd, end: end, into: &head)
        head.length = end + 4
        return true
    }

    /// Refuses a head that can already be seen to be bad or too big before it is complete.
    private func checkPartialHead(_ bytes: UnsafeRawBufferPointer, start: Int) throws(HTTPError) {
        var i = start
        while i < bytes.count, bytes[i] != 0x20 {
            guard isTChar(bytes[i]) else { throw .bad("bad_method", "malformed request line") }
            i += 1
            if i - start > 32 { throw .bad("bad_method", "malformed request line") }
        }
        var lineEnd = i
        while lineEnd < bytes.count, bytes[lineEnd] != 0x0A { lineEnd += 1 }
        if lineEnd == bytes.count, lineEnd - start > limits.maxTargetBytes + 64 { throw .uriTooLong }
        if bytes.count - start >= limits.maxHeadBytes {
            throw lineEnd == bytes.count ? .uriTooLong : .headersTooLarge
        }
    }

    private func parseRequestLine(_ bytes: UnsafeRawBufferPointer, start: Int, into head: inout RequestHead) throws(HTTPError) {
        var p = start
        while isTChar(bytes[p]) { p += 1 }
        guard p > start, bytes[p] == 0x20 else { throw .bad("bad_method", "malformed request line") }
        let methodRange = start..<p
        head.methodRange = methodRange
        head.method = Self.method(bytes, methodRange)
        if head.method == .connect { throw .connectRefused }
        p += 1
        let targetStart = p
        var query = -1
        while isTargetByte(bytes[p]) {
            if bytes[p] == UInt8(ascii: "?"), query < 0 { query = p }
            if bytes[p] == UInt8(ascii: "#") { throw .bad("bad_target", "fragment in request target") }
            p += 1
        }
        let targetEnd = p
        if targetEnd - targetStart > limits.maxTargetBytes { throw .uriTooLong }
        guard targetEnd > targetStart, bytes[p] == 0x20 else { throw .bad("bad_request_line", "malformed request line") }
        let pathEnd = query >= 0 ? query : targetEnd
        head.target = targetStart..<targetEnd
        head.path = targetStart..<pathEnd
        head.query = pathEnd..<targetEnd
        // Asterisk-form is for OPTIONS only (RFC 9112 §3.2.4); what is not origin-form must be absolute.
        let asterisk = head.method == .options && targetEnd - targetStart == 1 && bytes[targetStart] == UInt8(ascii: "*")
        if bytes[targetStart] != UInt8(ascii: "/"), !asterisk {
            try parseAbsoluteForm(bytes, from: targetStart, pathEnd: pathEnd, into: &head)
        }
        p += 1
        guard p + 10 <= bytes.count,
              bytes[p] == UInt8(ascii: "H"), bytes[p + 1] == UInt8(ascii: "T"), bytes[p + 2] == UInt8(ascii: "T"),
              bytes[p + 3] == UInt8(ascii: "P"), bytes[p + 4] == UInt8(ascii: "/"),
              (bytes[p + 5] &- 48) < 10, bytes[p + 6] == UInt8(ascii: "."), (bytes[p + 7] &- 48) < 10
        else { throw .bad("bad_version", "malformed HTTP version") }
        guard bytes[p + 8] == 0x0D, bytes[p + 9] == 0x0A else { throw .bad("bad_request_line", "malformed request line") }
        switch (bytes[p + 5], bytes[p + 7]) {
        case (UInt8(ascii: "1"), UInt8(ascii: "1")): head.isHTTP11 = true
        case (UInt8(ascii: "1"), UInt8(ascii: "0")): head.isHTTP11 = false
        default: throw .badVersion
        }
        head.length = p + 10
    }

    /// Splits `http(s)://authority[path]` (RFC 9112 §3.2.2; the query is already split off) into
    /// `authority` and `path`, so the rules and the upstream see one origin-form path and one host,
    /// whatever Host the client also sent. Only http and https: any other scheme is not ours to
    /// serve. Userinfo is refused rather than dropped: `http://a@b/` is read as host `a` by some
    /// software and `b` by the rest.
    private func parseAbsoluteForm(_ bytes: UnsafeRawBufferPointer, from start: Int, pathEnd: Int,
                                   into head: inout RequestHead) throws(HTTPError) {
        var p = start
        if pathEnd - p >= 7, bytes.equalsLowercase(p..<p + 7, "http://") {
            p += 7
        } else if pathEnd - p >= 8, bytes.equalsLowercase(p..<p + 8, "https://") {
            p += 8
        } else {
            throw .bad("bad_target", "request target is neither origin-form nor an http(s) URI")
        }
        let authorityStart = p
        while p < pathEnd, bytes[p] != UInt8(ascii: "/") {
            if bytes[p] == UInt8(ascii: "@") { throw .bad("userinfo_in_target", "userinfo in request target") }
            p += 1
        }
        let authority = authorityStart..<p
        try checkAuthority(bytes, authority)
        head.authority = authority
        // An empty path is "/" (RFC 9112 §3.2.1): the last byte of "://" is one, in the buffer.
        head.path = p < pathEnd ? p..<pathEnd : (authorityStart - 1)..<authorityStart
    }

    /// `host [":" port]` with host a reg-name or a bracketed IPv6 literal, never empty (RFC 9110
    /// §4.2.1): it becomes the upstream's Host, so it must be one a backend reads one way.
    private func checkAuthority(_ bytes: UnsafeRawBufferPointer, _ authority: Range<Int>) throws(HTTPError) {
        let bad = HTTPError.bad("bad_authority", "malformed authority in request target")
        var p = authority.lowerBound
        let end = authority.upperBound
        if p < end, bytes[p] == UInt8(ascii: "[") {
            p += 1
            while p < end, isHexDigit(bytes[p]) || bytes[p] == UInt8(ascii: ":") || bytes[p] == UInt8(ascii: ".") { p += 1 }
            guard p < end, p > authority.lowerBound + 1, bytes[p] == UInt8(ascii: "]") else { throw bad }
            p += 1
        } else {
            while p < end, isRegNameByte(bytes[p]) {
                if bytes[p] == UInt8(ascii: "%") {
                    guard p + 2 < end, isHexDigit(bytes[p + 1]), isHexDigit(bytes[p + 2]) else { throw bad }
                    p += 2
                }
                p += 1
            }
            guard p > authority.lowerBound else { throw bad }
        }
        if p < end {
            guard bytes[p] == UInt8(ascii: ":") else { throw bad }
            p += 1
            while p < end {
                guard (bytes[p] &- 48) < 10 else { throw bad }
                p += 1
            }
        }
    }

    private func parseHeaders(_ bytes: UnsafeRawBufferPointer, from: Int, end: Int, into head: inout RequestHead) throws(HTTPError) {
        var hosts = 0
        var contentLength: UInt64?
        var chunked = false
        var sawTransferEncoding = false
        var connectionClose = false, connectionKeepAlive = false, connectionUpgrade = false
        var upgradeOffered = false, upgradeH2C = false
        var expect = false
        let maxFields = limits.maxHeaders
        // `end` is the first CR of CRLFCRLF; field lines end at end+2.
        if from < end + 2 {
            _ = try referenceParseFieldLines(bytes, from: from, end: end, maxFields: maxFields) { (field: inout HeaderField) throws(HTTPError) in
                switch field.kind {
                case .host:
                    hosts += 1
                    head.host = field.value
                case .contentLength:
                    contentLength = try parseContentLength(bytes, field.value, previous: contentLength)
                case .transferEncoding:
                    sawTransferEncoding = true
                    try parseTransferEncoding(bytes, field.value, chunkedSeen: &chunked)
                case .connection:
                    forEachListElement(bytes, field.value) { token in
                        if bytes.equalsLowercase(token, "close") { connectionClose = true }
                        else if bytes.equalsLowercase(token, "keep-alive") { connectionKeepAlive = true }
                        else if bytes.equalsLowercase(token, "upgrade") { connectionUpgrade = true }
                        else if head.nominated.count < 16 { head.nominated.append(token) }
                        return true
                    }
                case .expect:
                    if bytes.equalsLowercase(field.value, "100-continue") { expect = true }
                    else if head.isHTTP11 { throw .expectationFailed }
                case .upgrade:
                    upgradeOffered = true
                    forEachListElement(bytes, field.value) { token in
                        // h2c would open a connection on which later requests skip our checks.
                        if bytes.equalsLowercase(token, "h2c") { upgradeH2C = true; return false }
                        return true
                    }
                default:
                    break
                }
                head.headers.append(field)
            }
        }
        // Still required with an absolute-form target (RFC 9112 §3.2), even though it is then ignored.
        if head.isHTTP11 ? hosts != 1 : hosts > 1 {
            throw .bad(hosts == 0 ? "missing_host" : "duplicate_host", "exactly one Host header is required")
        }
        if !head.authority.isEmpty { head.host = head.authority }
        if sawTransferEncoding {
            guard contentLength == nil else {
                throw .bad("content_length_and_chunked", "both Content-Length and Transfer-Encoding")
            }
            guard head.isHTTP11 else { throw .bad("chunked_in_http10", "Transfer-Encoding in an HTTP/1.0 request") }
            head.framing = .chunked
        } else if let contentLength, contentLength > 0 {
            head.framing = .contentLength(contentLength)
        }
        head.keepAlive = head.isHTTP11 ? !connectionClose : (connectionKeepAlive && !connectionClose)
        head.expectContinue = expect && head.isHTTP11
        head.upgrade = upgradeOffered && connectionUpgrade && !upgradeH2C && head.framing == .none && head.isHTTP11
    }

    @inline(__always)
    static func method(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> HTTPMethod {
        // Methods are case-sensitive (RFC 9110 §9.1).
        let c = range.count
        let b0 = bytes[range.lowerBound]
        switch (c, b0) {
        case (3, UInt8(ascii: "G")) where matches(bytes, range, "GET"): return .get
        case (3, UInt8(ascii: "P")) where matches(bytes, range, "PUT"): return .put
        case (4, UInt8(ascii: "P")) where matches(bytes, range, "POST"): return .post
        case (4, UInt8(ascii: "H")) where matches(bytes, range, "HEAD"): return .head
        case (5, UInt8(ascii: "P")) where matches(bytes, range, "PATCH"): return .patch
        case (5, UInt8(ascii: "T")) where matches(bytes, range, "TRACE"): return .trace
        case (6, UInt8(ascii: "D")) where matches(bytes, range, "DELETE"): return .delete
        case (7, UInt8(ascii: "O")) where matches(bytes, range, "OPTIONS"): return .options
        case (7, UInt8(ascii: "C")) where matches(bytes, range, "CONNECT"): return .connect
        default: return .other
        }
    }

    @inline(__always)
    static func matches(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ literal: StaticString) -> Bool {
        let lit = literal.utf8Start
        for i in 0..<range.count where bytes[range.lowerBound + i] != lit[i] { return false }
        return true
    }
}

/// Parses the field lines of a head from `start` to `end` (the index of the final CRLFCRLF's
/// first CR, i.e. just past the last field line's CR LF minus 2).
///
/// Rejected here, whatever the message: obs-fold, whitespace before the colon, an empty or
/// non-token name, NUL, bare CR, bare LF and other controls in a value.
@inline(__always)
func referenceParseFieldLines(
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
            kind: referenceClassify(bytes, nameStart..<nameEnd)
        )
        try onField(&field)
        p += 2
    }
    return count
}

func referenceClassify(_ bytes: UnsafeRawBufferPointer, _ name: Range<Int>) -> HeaderKind {
    switch name.count {
    case 2: return bytes.equalsLowercase(name, "te") ? .hopByHop : .other
    case 4: return bytes.equalsLowercase(name, "host") ? .host : .other
    case 6: return bytes.equalsLowercase(name, "expect") ? .expect : .other
    case 7:
        if bytes.equalsLowercase(name, "upgrade") { return .upgrade }
        return bytes.equalsLowercase(name, "trailer") ? .hopByHop : .other
    case 9: return bytes.equalsLowercase(name, "forwarded") ? .forwarded : .other
    case 10:
        if bytes.equalsLowercase(name, "connection") { return .connection }
        return bytes.equalsLowercase(name, "keep-alive") ? .hopByHop : .other
    case 13: return bytes.equalsLowercase(name, "authorization") ? .authorization : .other
    case 14: return bytes.equalsLowercase(name, "content-length") ? .contentLength : .other
    case 15: return bytes.equalsLowercase(name, "x-forwarded-for") ? .xForwardedFor : .other
    case 16:
        if bytes.equalsLowercase(name, "x-forwarded-host") { return .xForwardedProtoOrHost }
        return bytes.equalsLowercase(name, "proxy-connection") ? .hopByHop : .other
    case 17:
        if bytes.equalsLowercase(name, "transfer-encoding") { return .transferEncoding }
        return bytes.equalsLowercase(name, "x-forwarded-proto") ? .xForwardedProtoOrHost : .other
    default:
        if name.count >= 21 && bytes.equalsLowercase(name.lowerBound..<name.lowerBound + 21, "x-ms-client-principal") {
            return .identity
        }
        return .other
    }
}
