public import Config
public import HTTP1
import EventLoop
public import NetworkPolicy
public import Transport

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
    /// The TCP peer, or the source a PROXY protocol header gave.
    public let peer: IPAddress
    /// The address that decided (the client IP): the peer until the network step resolves it.
    /// It is the last element of the X-Forwarded-For the upstream sees, and the log's client.
    public var client: IPAddress
    public var clientSource: ClientSource = .peer
    /// The network rule that let the request in, for the access log.
    public var networkRule: String?
    /// The network rules were applied (a nil `networkRule` then means the default action).
    public var networkEvaluated = false
    /// Header lines (without CRLF) a filter wants the upstream to receive, e.g. identity.
    public var upstreamHeaders: [String] = []
    /// Extra words for the access log line (e.g. the rule that allowed, `cache_hit`).
    public var logNote: String?
    /// The route (`routes`) that decided what the token must hold; nil: `auth.authorization`.
    public var route: String?
    /// A layer in dry-run mode would have refused the request for this reason (the first one);
    /// it went on, and the log and metrics say so.
    public var wouldDeny: String?
    /// From a valid token, for the access log: `appid` (or `azp`) and `oid`.
    public var appID: String?
    public var objectID: String?
    /// The verified client certificate of the connection, if any.
    public var tlsPeer: PeerCertificate?
    /// Whether the connection's listener asks for client certificates (mutual TLS).
    public var requestsClientCertificates = false
    /// The request came in on an egress listener (the local app calling out).
    public var egress = false
    /// Which upstream target the request goes to (a worker pool index; 0: the ingress upstream).
    public var upstreamTarget = 0
}

extension RequestContext {
    public init(bytes: UnsafeRawBufferPointer, head: RequestHead, peer: IPAddress) {
        self.bytes = bytes
        self.head = head
        self.peer = peer
        self.client = peer
    }
}

/// The request's header fields as the network layer reads them: by name, in order, as bytes.
public struct RequestHeaders: HeaderSource {
    let bytes: UnsafeRawBufferPointer
    let fields: [HeaderField]

    public init(_ context: RequestContext) {
        bytes = context.bytes
        fields = context.head.headers
    }

    @inline(__always)
    public func forEachValue(named lowercasedName: String, _ body: (UnsafeRawBufferPointer) -> Bool) {
        var name = lowercasedName
        name.withUTF8 { wanted in
            let wanted = UnsafeRawBufferPointer(wanted)
            for field in fields where field.name.count == wanted.count {
                var equal = true
                var i = 0
                for offset in field.name {
                    let b = bytes[offset]
                    if ((b &- 65) < 26 ? b | 0x20 : b) != wanted[i] { equal = false; break }
                    i += 1
                }
                if equal && !body(UnsafeRawBufferPointer(rebasing: bytes[field.value])) { return }
            }
        }
    }

    /// The parser classified X-Forwarded-For and Forwarded by their exact (case-insensitive)
    /// names while it read them, so the kind stands for the name comparison.
    @inline(__always)
    public func forEachValue(of header: ClientIPSettings.Header, _ body: (UnsafeRawBufferPointer) -> Bool) {
        let kind: HeaderKind = switch header {
        case .xForwardedFor: .xForwardedFor
        case .forwarded: .forwarded
        }
        for field in fields where field.kind == kind {
            if !body(UnsafeRawBufferPointer(rebasing: bytes[field.value])) { return }
        }
    }
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
