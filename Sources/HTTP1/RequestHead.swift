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
    public var target: Range<Int> = 0..<0
    /// The path part of the target (before `?`).
    public var path: Range<Int> = 0..<0
    public var isHTTP11 = true
    public var headers: [HeaderField] = []
    /// Bytes of the head including the empty line that ends it.
    public var length = 0
    public var framing: BodyFraming = .none
    public var keepAlive = true
    public var expectContinue = false
    /// The request asks to switch protocols (websocket or another the upstream may accept); never h2c.
    public var upgrade = false
    /// The Host field's value (OWS trimmed); empty when there is no Host or its value is empty.
    public var host: Range<Int> = 0..<0
    /// Header names listed in Connection (besides close/keep-alive/upgrade), to be removed.
    public var nominated: [Range<Int>] = []

    public init() {
        headers.reserveCapacity(32)
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
        length = 0
    }

    /// Whether the header `field` is named in this request's Connection header.
    @inline(__always)
    public func isNominated(_ field: HeaderField, in bytes: UnsafeRawBufferPointer) -> Bool {
        for name in nominated where bytes.equalsCaseInsensitive(name, bytes, field.name) { return true }
        return false
    }
}
