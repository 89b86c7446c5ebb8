/// Where the admin listener gets its answers. Every closure is called on the admin thread, once
/// per request; each must return quickly (read a snapshot, sum counters) and never block, since
/// one slow answer holds up every other admin request.
public struct AdminRoutes: Sendable {
    /// `GET /healthz`: 200 `ok` when healthy, else 503 with one line per problem.
    public var health: @Sendable () -> HealthReport
    /// `GET /readyz`: the conditions not yet met (e.g. "issuer https://idp: no key set yet");
    /// empty means ready (200 `ready`), otherwise 503 with one line per condition.
    public var readiness: @Sendable () -> [String]
    /// `GET /metrics`: the Prometheus text exposition (format 0.0.4), e.g. `registry.render()`.
    public var metrics: @Sendable () -> [UInt8]
    /// `GET /config`: the effective configuration as JSON, e.g. `Array(config.effectiveJSON.utf8)`.
    public var config: @Sendable () -> [UInt8]

    public init(health: @escaping @Sendable () -> HealthReport,
                readiness: @escaping @Sendable () -> [String],
                metrics: @escaping @Sendable () -> [UInt8],
                config: @escaping @Sendable () -> [UInt8]) {
        self.health = health
        self.readiness = readiness
        self.metrics = metrics
        self.config = config
    }
}
