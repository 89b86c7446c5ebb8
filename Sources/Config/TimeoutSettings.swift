/// Client-side timeouts (`timeouts`).
public struct TimeoutSettings: Sendable, Equatable {
    /// From the first byte of a request head to its last; past it the connection gets 408 and closes.
    public var requestHeader: Duration = .seconds(10)
    /// A keep-alive connection with no request in flight is closed after this.
    public var idle: Duration = .seconds(60)
    /// On SIGTERM/SIGINT, how long requests in flight may take to finish.
    public var drain: Duration = .seconds(30)
    /// From accept to a finished TLS handshake; past it the connection is closed.
    public var tlsHandshake: Duration = .seconds(10)

    public init() {}

    static func decode(_ node: ConfigNode) throws(ConfigError) -> TimeoutSettings {
        var map = try node.mapping()
        var timeouts = TimeoutSettings()
        if let n = map.optional("request_header") { timeouts.requestHeader = try positive(n) }
        if let n = map.optional("idle") { timeouts.idle = try positive(n) }
        if let n = map.optional("drain") { timeouts.drain = try n.duration() }
        if let n = map.optional("tls_handshake") { timeouts.tlsHandshake = try positive(n) }
        try map.finish()
        return timeouts
    }
}
