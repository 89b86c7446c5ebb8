/// Bounds on what a client may send in a request head (`limits`).
public struct LimitsSettings: Sendable, Equatable {
    /// Largest request head (request line and headers) in bytes; more gets 431.
    public var maxHeaderBytes: Int = 65_536
    /// Most header fields in one request; more gets 431.
    public var maxHeaders: Int = 100
    /// Longest request target; longer gets 414.
    public var maxRequestTargetBytes: Int = 8_192

    public init() {}

    static func decode(_ node: ConfigNode) throws(ConfigError) -> LimitsSettings {
        var map = try node.mapping()
        var limits = LimitsSettings()
        if let n = map.optional("max_header_bytes") { limits.maxHeaderBytes = try n.int(in: 1_024...1_048_576) }
        if let n = map.optional("max_headers") { limits.maxHeaders = try n.int(in: 1...1_000) }
        if let n = map.optional("max_request_target_bytes") { limits.maxRequestTargetBytes = try n.int(in: 64...1_048_576) }
        try map.finish()
        return limits
    }
}
