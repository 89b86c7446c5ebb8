import NetworkPolicy

/// Pipeline steps 2 and 3: resolve the client address (trusted proxies, forwarding headers),
/// then apply the network rules. A denied request stops here with 403.
final class NetworkFilter: RequestFilter {
    let name = "network"
    let resolver: ClientIPResolver?
    /// Replaced on this worker's loop when an IP set loads (see ``ProxyServer``): requests
    /// admitted after that see the new prefixes.
    var policy: NetworkPolicy?
    /// `network.mode: dry_run`: a denial is recorded, the request goes on.
    let dryRun: Bool

    init(resolver: ClientIPResolver?, policy: NetworkPolicy?, dryRun: Bool = false) {
        self.resolver = resolver
        self.policy = policy
        self.dryRun = dryRun
    }

    static let denied = Decision(status: 403, code: "network_denied", message: "forbidden: this network may not call this service")

    func evaluate(_ request: inout RequestContext) -> FilterResult {
        let headers = RequestHeaders(request)
        if let resolver {
            let resolved = resolver.resolve(peer: request.peer, headers: headers)
            request.client = resolved.address
            request.clientSource = resolved.source
        }
        guard let policy else { return .continue }
        let decision = policy.decide(request.client, headers: headers)
        request.networkRule = decision.rule
        request.networkEvaluated = true
        if decision.allowed { return .continue }
        guard dryRun else { return .stop(Self.denied) }
        if request.wouldDeny == nil { request.wouldDeny = Self.denied.code }
        return .continue
    }
}
