import EventLoop
import NetworkPolicy

/// What the access log and the metrics say of one request, gathered as the exchange goes, the
/// same for an HTTP/1.1 request and an HTTP/2 stream.
struct ExchangeRecord {
    /// Monotonic nanoseconds: the request's head arrived, it was forwarded, the upstream's
    /// answer was complete (0 while not).
    var start: Int64 = 0
    var upstreamStart: Int64 = 0
    var upstreamEnd: Int64 = 0
    /// The address that decided, and how it was found.
    var client: IPAddress
    var clientSource: ClientSource = .peer
    /// The network rule that decided (nil with `networkEvaluated`: the default action).
    var rule: String?
    var networkEvaluated = false
    var note: String?
    /// The route that decided (nil: no route matched, or none is configured).
    var route: String?
    /// The client spelled the path otherwise than its normal form, which is what was judged
    /// and forwarded (and is logged).
    var pathNormalized = false
    /// A dry-run layer's refusal that was not applied.
    var wouldDeny: String?
    /// From a valid token: `appid`/`azp` and `oid`.
    var appID: String?
    var objectID: String?
    /// The pipeline let the request through (a later 502 is still an allowed request).
    var admitted = false
    var bytesIn: UInt64 = 0
    var bytesOut: UInt64 = 0

    init(client: IPAddress) {
        self.client = client
    }

    /// Takes what the pipeline concluded, whether it let the request through or not.
    mutating func judged(_ context: RequestContext, admitted: Bool) {
        client = context.client
        clientSource = context.clientSource
        rule = context.networkRule
        networkEvaluated = context.networkEvaluated
        note = context.logNote
        route = context.route
        wouldDeny = context.wouldDeny
        appID = context.appID
        objectID = context.objectID
        self.admitted = admitted
    }

    mutating func forwarded() {
        upstreamStart = Sys.monotonicNanos()
    }

    mutating func upstreamFinished() {
        if upstreamStart != 0 && upstreamEnd == 0 { upstreamEnd = Sys.monotonicNanos() }
    }

    var upstreamNanos: Int64? {
        guard upstreamStart != 0 else { return nil }
        return (upstreamEnd != 0 ? upstreamEnd : Sys.monotonicNanos()) - upstreamStart
    }
}
