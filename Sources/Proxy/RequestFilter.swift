public import HTTP1
public import EventLoop

/// What a filter decides about one request: let it go on to the next step, or stop it here.
public enum FilterResult: Sendable {
    case `continue`
    case stop(Decision)
}

/// The request as the pipeline's filters see it: the parsed head over the connection's bytes,
/// the TCP peer, and what earlier filters concluded.
public struct RequestContext {
    public let bytes: UnsafeRawBufferPointer
    public let head: RequestHead
    public let peer: SocketAddress
    /// Text of the address that decided (the client IP), written by the network step; the peer's
    /// address until then. It goes into X-Forwarded-For and the access log.
    public var clientAddress: String?
    /// Header lines (without CRLF) a filter wants the upstream to receive, e.g. identity.
    public var upstreamHeaders: [String] = []
    /// Extra words for the access log line (e.g. the rule that allowed, `cache_hit`).
    public var logNote: String?
}

/// One step of the ordered chain every request passes (Envoy's filter chain): each continues or
/// stops with a decision. Filters run on the event loop, so they must not block.
public protocol RequestFilter: AnyObject {
    /// Stable name for logs and `portcullis check`.
    var name: String { get }
    func evaluate(_ request: inout RequestContext) -> FilterResult
}

/// The ordered chain. Parsing (before it) and forwarding (after it) are the fixed ends; issues
/// that add network rules and tokens insert their filters here.
public struct RequestPipeline {
    public var filters: [any RequestFilter]

    public init(filters: [any RequestFilter] = []) {
        self.filters = filters
    }

    @inline(__always)
    public func run(_ request: inout RequestContext) -> FilterResult {
        for filter in filters {
            if case .stop(let decision) = filter.evaluate(&request) { return .stop(decision) }
        }
        return .continue
    }
}
