/// A parsed upstream response head, as offsets into the buffer that holds it.
public struct ResponseHead: Sendable {
    public var status = 0
    public var reason: Range<Int> = 0..<0
    public var isHTTP11 = true
    public var headers: [HeaderField] = []
    public var length = 0
    public var framing: BodyFraming = .none
    /// The upstream will keep the connection open after this response.
    public var keepAlive = true
    public var nominated: [Range<Int>] = []

    /// An empty head with room for `fields` header fields; 0 reserves nothing.
    public init(reservingFields fields: Int = 32) {
        if fields > 0 { headers.reserveCapacity(fields) }
    }

    public var isInformational: Bool { status >= 100 && status < 200 }

    @inline(__always)
    public func isNominated(_ field: HeaderField, in bytes: UnsafeRawBufferPointer) -> Bool {
        for name in nominated where bytes.equalsCaseInsensitive(name, bytes, field.name) { return true }
        return false
    }
}

/// Parses the upstream's response heads. The upstream is trusted more than a client, but its
/// framing is still checked strictly: an ambiguous response would desynchronise the pooled
/// connection and hand one client another's bytes.
public struct ResponseParser: Sendable {
    public var maxHeadBytes: Int
    public var maxHeaders: Int
    private var scanned = 0

    public init(maxHeadBytes: Int = 65_536, maxHeaders: Int = 200) {
        self.maxHeadBytes = maxHeadBytes
        self.maxHeaders = maxHeaders
    }

    public mutating func reset() { scanned = 0 }

    /// Parses a head at the start of `bytes`; false while incomplete. `requestMethod` decides
    /// whether a body follows (none for HEAD).
    public mutating func parse(_ bytes: UnsafeRawBufferPointer, requestMethod: HTTPMethod,
                               into head: inout ResponseHead) throws(HTTPError) -> Bool {
        guard let end = bytes.findHeadEnd(from: max(scanned - 3, 0), limit: maxHeadBytes) else {
            scanned = bytes.count
            if bytes.count >= maxHeadBytes { throw Self.badResponse }
            if bytes.count >= 5, !(bytes[0] == UInt8(ascii: "H") && bytes[1] == UInt8(ascii: "T")) { throw Self.badResponse }
            return false
        }
        scanned = 0
        head.headers.removeAll(keepingCapacity: true)
        head.nominated.removeAll(keepingCapacity: true)
        guard end >= 12, bytes[0] == UInt8(ascii: "H"), bytes[1] == UInt8(ascii: "T"), bytes[2] == UInt8(ascii: "T"),
              bytes[3] == UInt8(ascii: "P"), bytes[4] == UInt8(ascii: "/"), bytes[5] == UInt8(ascii: "1"),
              bytes[6] == UInt8(ascii: "."), bytes[8] == 0x20 else { throw Self.badResponse }
        head.isHTTP11 = bytes[7] == UInt8(ascii: "1")
        var status = 0
        for i in 9..<12 {
            let d = bytes[i] &- 48
            guard d < 10 else { throw Self.badResponse }
            status = status * 10 + Int(d)
        }
        guard status >= 100, status <= 599 else { throw Self.badResponse }
        head.status = status
        var p = 12
        if bytes[p] == 0x20 { p += 1 }
        let reasonStart = p
        while bytes[p] != 0x0D {
            guard isFieldByte(bytes[p]) else { throw Self.badResponse }
            p += 1
        }
        guard bytes[p + 1] == 0x0A else { throw Self.badResponse }
        head.reason = reasonStart..<p
        p += 2

        var contentLength: UInt64?
        var chunked = false, sawTE = false, close = false, keepAliveToken = false
        if p < end + 2 {
            do {
                _ = try parseFieldLines(bytes, from: p, end: end, maxFields: maxHeaders) { (field: inout HeaderField) throws(HTTPError) in
                    switch field.kind {
                    case .contentLength:
                        contentLength = try parseContentLength(bytes, field.value, previous: contentLength)
                    case .transferEncoding:
                        sawTE = true
                        try parseTransferEncoding(bytes, field.value, chunkedSeen: &chunked)
                    case .connection:
                        forEachListElement(bytes, field.value) { token in
                            if bytes.equalsLowercase(token, "close") { close = true }
                            else if bytes.equalsLowercase(token, "keep-alive") { keepAliveToken = true }
                            else if !bytes.equalsLowercase(token, "upgrade"), head.nominated.count < 16 { head.nominated.append(token) }
                            return true
                        }
                    default: break
                    }
                    head.headers.append(field)
                }
            } catch {
                throw Self.badResponse
            }
        }
        head.length = end + 4
        head.keepAlive = head.isHTTP11 ? !close : (keepAliveToken && !close)
        if requestMethod == .head || status == 204 || status == 304 || head.isInformational {
            head.framing = .none
        } else if sawTE {
            guard contentLength == nil else { throw Self.badResponse }
            head.framing = .chunked
        } else if let contentLength {
            head.framing = contentLength == 0 ? .none : .contentLength(contentLength)
        } else {
            head.framing = .untilClose
            head.keepAlive = false
        }
        return true
    }

    public static let badResponse = HTTPError(status: 502, code: "bad_upstream_response", reason: "upstream sent a malformed response")
}
