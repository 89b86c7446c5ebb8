import Metrics

/// A worker's share of the metrics: its own shard (written only from its loop, so counting
/// takes no lock and touches no cache line another core writes) and the series handles it
/// has resolved so far, found by small keys rather than by building label strings per request.
final class WorkerMetrics {
    /// Off when there is no admin listener to read them: then counting costs nothing at all.
    /// Fixed at start (adding an admin listener takes a restart).
    let enabled: Bool
    let shard: MetricsShard
    let families: PortcullisMetrics

    private struct RequestKey: Hashable {
        let listener: String
        let h2: Bool
        let admitted: Bool
        let reason: String
    }

    private var requests: [RequestKey: Counter] = [:]
    private var rules: [String: Counter] = [:]
    private var listeners: [String: Gauge] = [:]

    init(_ families: PortcullisMetrics, enabled: Bool) {
        self.families = families
        self.enabled = enabled
        shard = families.registry.makeShard()
    }

    /// One request or stream ended: `portcullis_requests_total`, the two latency histograms,
    /// the network rule that decided and the token cache's answer.
    func count(_ record: ExchangeRecord, listener: String, h2: Bool, reason: String, durationNanos: Int64) {
        guard enabled else { return }
        let key = RequestKey(listener: listener, h2: h2, admitted: record.admitted, reason: reason)
        let counter: Counter
        if let known = requests[key] {
            counter = known
        } else if let made = try? families.requests.series([listener, h2 ? "h2" : "http/1.1",
                                                           record.admitted ? "allowed" : "denied", reason]) {
            // The first time this worker sees the combination: registered once, then a lookup.
            requests[key] = made
            counter = made
        } else {
            return
        }
        shard.increment(counter)
        shard.observe(families.requestDuration, nanoseconds: durationNanos)
        if let upstream = record.upstreamNanos { shard.observe(families.upstreamDuration, nanoseconds: upstream) }
        if record.networkEvaluated { countRule(record.rule ?? "default") }
        if let reason = record.wouldDeny { countWouldDeny(reason) }
        switch record.note {
        case "cache_hit": shard.increment(families.tokenCacheHits)
        case "token_verified": shard.increment(families.tokenCacheMisses)
        default: break
        }
    }

    private var wouldDeny: [String: Counter] = [:]

    private func countWouldDeny(_ reason: String) {
        if let counter = wouldDeny[reason] {
            shard.increment(counter)
        } else if let made = try? families.wouldDeny.series([reason]) {
            wouldDeny[reason] = made
            shard.increment(made)
        }
    }

    private func countRule(_ rule: String) {
        if let counter = rules[rule] {
            shard.increment(counter)
        } else if let made = try? families.networkRuleHits.series([rule]) {
            rules[rule] = made
            shard.increment(made)
        }
    }

    /// `portcullis_connections_active{listener}`: this worker's part, up or down by one.
    func connection(on listener: String, _ delta: Double) {
        guard enabled else { return }
        if let gauge = listeners[listener] {
            shard.add(gauge, delta)
        } else if let made = try? families.connectionsActive.series([listener]) {
            listeners[listener] = made
            shard.add(made, delta)
        }
    }

    /// `portcullis_upstream_connections{state}`: this worker's pool and the connections in use.
    func upstream(idle delta: Double) {
        if enabled { shard.add(families.upstreamIdle, delta) }
    }

    func upstream(active delta: Double) {
        if enabled { shard.add(families.upstreamActive, delta) }
    }
}
