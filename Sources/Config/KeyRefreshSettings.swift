/// How key sets are fetched and refreshed (`auth.keys`).
public struct KeyRefreshSettings: Sendable, Equatable {
    /// Refresh interval when the response carries no usable Cache-Control max-age.
    public var refresh: Duration = .seconds(3600)
    /// Bounds applied to a max-age the identity provider sends.
    public var minRefresh: Duration = .seconds(300)
    public var maxRefresh: Duration = .seconds(86_400)
    /// At most one early refetch per issuer in this interval when a token names an unknown `kid`.
    public var unknownKidInterval: Duration = .seconds(30)
    /// Whole-transfer timeout of one fetch.
    public var fetchTimeout: Duration = .seconds(10)

    public init() {}

    static func decode(_ node: ConfigNode) throws(ConfigError) -> KeyRefreshSettings {
        var map = try node.mapping()
        var settings = KeyRefreshSettings()
        if let n = map.optional("refresh") { settings.refresh = try positive(n) }
        if let n = map.optional("min_refresh") { settings.minRefresh = try positive(n) }
        if let n = map.optional("max_refresh") { settings.maxRefresh = try positive(n) }
        if let n = map.optional("unknown_kid_interval") { settings.unknownKidInterval = try positive(n) }
        if let n = map.optional("fetch_timeout") { settings.fetchTimeout = try positive(n) }
        guard settings.minRefresh <= settings.maxRefresh else {
            throw node.error("min_refresh (\(settings.minRefresh)) is longer than max_refresh (\(settings.maxRefresh))")
        }
        try map.finish()
        return settings
    }
}
