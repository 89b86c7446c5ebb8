/// Every metric family Portcullis exposes, declared in one place: the names are a contract with
/// dashboards and alerts, and the README lists them from here.
///
/// Make one at startup and keep it for the life of the process (reloads register new series in
/// the same families, so counters continue). Series of labelled families are registered by the
/// wiring code from the config (listeners, rules, issuers); unlabelled ones are ready as handles.
/// Each worker gets ``MetricsRegistry/makeShard()`` from ``registry``; so does each background
/// thread that writes (the key fetcher: `jwks*`; the reloader: `config_*`).
public struct PortcullisMetrics: Sendable {
    /// Request and upstream latency buckets, 100 µs to 10 s.
    public static let latencyBuckets: [Double] = [
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]

    public let registry: MetricsRegistry

    /// `portcullis_requests_total{listener,protocol,decision,reason}`: every traffic request.
    public let requests: CounterFamily
    /// `portcullis_request_duration_seconds`: every traffic request, first byte to last byte out.
    public let requestDuration: Histogram
    /// `portcullis_upstream_duration_seconds`: forwarded requests only, sent to response complete.
    public let upstreamDuration: Histogram
    /// `portcullis_would_deny_total{reason}`: refusals a dry-run layer computed but did not apply.
    public let wouldDeny: CounterFamily
    /// `portcullis_network_rule_hits_total{rule}` (`default` for the default action).
    public let networkRuleHits: CounterFamily
    /// `portcullis_token_cache_hits_total`.
    public let tokenCacheHits: Counter
    /// `portcullis_token_cache_misses_total`.
    public let tokenCacheMisses: Counter
    /// `portcullis_jwks_fetches_total{issuer,result}`.
    public let jwksFetches: CounterFamily
    /// `portcullis_jwks_last_success_timestamp_seconds{issuer}` (set by the key fetcher's shard).
    public let jwksLastSuccess: GaugeFamily
    /// `portcullis_jwks_keys{issuer}`: keys in the issuer's current key set.
    public let jwksKeys: GaugeFamily
    /// `portcullis_connections_active{listener}`: each worker sets its own part.
    public let connectionsActive: GaugeFamily
    /// `portcullis_upstream_connections{state="idle"}`.
    public let upstreamIdle: Gauge
    /// `portcullis_upstream_connections{state="active"}`.
    public let upstreamActive: Gauge
    /// `portcullis_config_generation`: 1 for the file read at startup, +1 per applied reload.
    public let configGeneration: Gauge
    /// `portcullis_config_reloads_total{result="success"}`.
    public let reloadsSucceeded: Counter
    /// `portcullis_config_reloads_total{result="failure"}`.
    public let reloadsFailed: Counter

    /// One configured IP set at a scrape: its prefixes in use (0 while not loaded) and when it
    /// last loaded (nil: never).
    public typealias IPSetSample = (set: String, prefixes: Int, lastSuccess: Double?)

    /// Declares all families, `portcullis_build_info{version}`, `portcullis_token_cache_entries`
    /// (computed by `tokenCacheEntries` at each scrape: the cache is shared by all workers), the
    /// `portcullis_ip_set_*` gauges (computed from `ipSets`: the sets belong to the
    /// configuration, not to a writer thread) and the `process_*` metrics.
    public init(version: String, tokenCacheEntries: @escaping @Sendable () -> Int = { 0 },
                tokenCacheEvictions: @escaping @Sendable () -> Int = { 0 },
                ipSets: @escaping @Sendable () -> [IPSetSample] = { [] }) throws(MetricsError) {
        let r = MetricsRegistry()
        registry = r
        try r.computedGauge("portcullis_build_info", help: "Always 1; the version is in the label.",
                            labels: ["version"]) { [Sample([version], 1)] }
        requests = try r.counter("portcullis_requests_total", help: "Traffic requests by listener, protocol, decision and reason.",
                                 labels: ["listener", "protocol", "decision", "reason"])
        requestDuration = try r.histogram("portcullis_request_duration_seconds",
                                          help: "Time from a request's first byte to its response's last byte.",
                                          buckets: Self.latencyBuckets).series()
        upstreamDuration = try r.histogram("portcullis_upstream_duration_seconds",
                                           help: "Time from sending a forwarded request upstream to the end of its response.",
                                           buckets: Self.latencyBuckets).series()
        wouldDeny = try r.counter("portcullis_would_deny_total",
                                  help: "Requests a layer in dry-run mode would have refused, by reason; they went on.", labels: ["reason"])
        networkRuleHits = try r.counter("portcullis_network_rule_hits_total",
                                        help: "Requests decided by each network rule (default: no rule matched).", labels: ["rule"])
        tokenCacheHits = try r.counter("portcullis_token_cache_hits_total", help: "Bearer tokens found already validated.").series()
        tokenCacheMisses = try r.counter("portcullis_token_cache_misses_total", help: "Bearer tokens validated in full.").series()
        // The cache is shared by the workers and counts its evictions under its own lock.
        try r.computedCounter("portcullis_token_cache_evictions_total", help: "Validated tokens dropped to make room.") {
            [Sample(Double(tokenCacheEvictions()))]
        }
        try r.computedGauge("portcullis_token_cache_entries", help: "Validated tokens held in the cache.") {
            [Sample(Double(tokenCacheEntries()))]
        }
        jwksFetches = try r.counter("portcullis_jwks_fetches_total", help: "Key set fetches by issuer and result.",
                                    labels: ["issuer", "result"])
        jwksLastSuccess = try r.gauge("portcullis_jwks_last_success_timestamp_seconds",
                                      help: "When the issuer's key set was last fetched successfully.", labels: ["issuer"])
        jwksKeys = try r.gauge("portcullis_jwks_keys", help: "Keys in the issuer's current key set.", labels: ["issuer"])
        try r.computedGauge("portcullis_ip_set_prefixes", help: "Prefixes in the IP set's current contents (0: not loaded yet).",
                            labels: ["set"]) { ipSets().map { Sample([$0.set], Double($0.prefixes)) } }
        try r.computedGauge("portcullis_ip_set_last_success_timestamp_seconds", help: "When the IP set last loaded successfully.",
                            labels: ["set"]) { ipSets().compactMap { set in set.lastSuccess.map { Sample([set.set], $0) } } }
        connectionsActive = try r.gauge("portcullis_connections_active", help: "Client connections open on each listener.",
                                        labels: ["listener"])
        let upstream = try r.gauge("portcullis_upstream_connections", help: "Upstream connections, idle in the pool or in use.",
                                   labels: ["state"])
        upstreamIdle = try upstream.series(["idle"])
        upstreamActive = try upstream.series(["active"])
        configGeneration = try r.gauge("portcullis_config_generation", help: "Generation of the configuration in effect.").series()
        let reloads = try r.counter("portcullis_config_reloads_total", help: "Configuration reloads by result.", labels: ["result"])
        reloadsSucceeded = try reloads.series(["success"])
        reloadsFailed = try reloads.series(["failure"])
        try ProcessMetrics.register(in: r)
    }
}
