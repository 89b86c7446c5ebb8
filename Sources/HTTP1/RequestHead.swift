public enum HTTPMethod: UInt8, Sendable {
    case get, head, post, put, delete, options, patch, trace, connect, other

    /// Methods a proxy may retry on a fresh connection (RFC 9110 §9.2.2).
    public var isIdempotent: Bool {
        switch self {
        case .get, .head, .put, .delete, .options, .trace: true
        default: false
        }
    }
}

public enum BodyFraming: Sendable, Equatable {
    case none
    case contentLength(UInt64)
    case chunked
    /// Responses only: the body runs until the upstream closes.
    case untilClose
}

/// A parsed request head: offsets into the caller's buffer plus what framing and routing need.
///
/// Reused across requests on a connection: `headers` keeps its capacity, so parsing allocates
/// nothing after the first request.
public struct RequestHead: Sendable {
    public var method: HTTPMethod = .get
    public var methodRange: Range<Int> = 0..<0
    /// The request-target exactly as received: for an absolute-form target this includes the
    /// scheme and authority, so what the rules and the upstream see is `path` and `query`.
    public var target: Range<Int> = 0..<0
    /// The path part of the target (before `?`), never empty: for an absolute-form target with
    /// no path it is the last `/` of its `://`, so it reads "/" without a copy.
    public var path: Range<Int> = 0..<0
    /// The query part of the target including its `?`; empty when there is none.
    public var query: Range<Int> = 0..<0
    /// The authority of an absolute-form target (`http://authority/...`); empty for origin-form
    /// and asterisk-form. When set, it is also `host`: the received Host field is ignored.
    public var authority: Range<Int> = 0..<0
    public var isHTTP11 = true
    public var headers: [HeaderField] = []
    /// Bytes of the head including the empty line that ends it.
    public var length = 0
    public var framing: BodyFraming = .none
    public var keepAlive = true
    public var expectContinue = false
    /// The request asks to switch protocols (websocket or another the upstream may accept); never h2c.
    public var upgrade = false
    /// The host the request is for: `authority` for an absolute-form target (RFC 9112 §3.2.2),
    /// else the Host field's value (OWS trimmed); empty when neither names one.
    public var host: Range<Int> = 0..<0
    /// Header names listed in Connection (besides close/keep-alive/upgrade), to be removed.
    public var nominated: [Range<Int>] = []

    /// An empty head with room for `fields` header fields, so the first parses do not grow the
    /// list piece by piece. 0 reserves nothing: for a connection that may never send a request.
    public init(reservingFields fields: Int = 32) {
        guard fields > 0 else { return }
        headers.reserveCapacity(fields)
        nominated.reserveCapacity(4)
    }

    mutating func reset() {
        headers.removeAll(keepingCapacity: true)
        nominated.removeAll(keepingCapacity: true)
        framing = .none
        keepAlive = true
        expectContinue = false
        upgrade = false
        host = 0..<0
        query = 0..<0
        authority = 0..<0
        length = 0
    }

    /// Whether the header `field` is named in this request's Connection header.
    @inline(__always)
    public func isNominated(_ field: HeaderField, in bytes: UnsafeRawBufferPointer) -> Bool {
        for name in nominated where bytes.equalsCaseInsensitive(name, bytes, field.name) { return true }
        return false
    }
}
