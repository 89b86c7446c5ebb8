public import Config
import NetworkPolicy

/// Compiles the config's rules once (errors name the key, before any socket opens) and builds
/// each worker's filter chain from the compiled, immutable pieces.
public struct PipelineFactory: Sendable {
    let resolver: ClientIPResolver?
    let policy: NetworkPolicy?

    public init(config: PortcullisConfig) throws(ConfigError) {
        resolver = try config.clientIP.map { settings throws(ConfigError) in try ClientIPResolver(settings) }
        policy = try config.network.map { settings throws(ConfigError) in try NetworkPolicy(settings) }
    }

    /// The ordered chain: network (client IP, rules) → … → forward.
    public func make(worker: Int) -> RequestPipeline {
        var filters: [any RequestFilter] = []
        if resolver != nil || policy != nil {
            filters.append(NetworkFilter(resolver: resolver, policy: policy))
        }
        return RequestPipeline(filters: filters)
    }
}
