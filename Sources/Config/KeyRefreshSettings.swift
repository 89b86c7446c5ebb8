/// How key sets are fetched and refreshed (`auth.keys`).
public struct KeyRefreshSettings: Sendable, Equatable {
    /// Refresh interval when the response carries no usable Cache-Control max-age.
    public var refresh: Duration = .seconds(3600)
    /// Bounds applied to a max-age the identity provider sends.
    public var minRefresh: Duration = .seconds(300)
    public var maxRefresh: Duration = .seconds(86_400)
    /// At most one early refetch per issuer in this interval when a token names an unknown `kid`.
    public var unknownKidInterval: Duration = .seconds(30)
    /// The same unknown `kid` asks for no new fetch within this time (a negative cache on top
    /// of `unknown_kid_interval`).
    public var unknownKidTTL: Duration = .seconds(60)
    /// Whole-transfer timeout of one fetch.
    public var fetchTimeout: Duration = .seconds(10)
    /// Where every successful fetch is kept, one file per issuer, so a restart serves at once
    /// and without the identity provider; nil: nothing is kept.
    public var stateDir: String?
    /// Keys older than this (counted from their fetch) count as unavailable.
    public var maxStale: Duration = .seconds(7 * 86_400)
    /// What a well-formed token of an issuer without usable keys gets.
    public var keysUnavailableAction: KeysUnavailableAction = .retryLater

    public enum KeysUnavailableAction: String, Sendable, CaseIterable {
        /// 503 with Retry-After: the caller is not wrong, the proxy cannot judge yet.
        case retryLater = "retry_later"
        /// 401, as for an invalid token.
        case reject
    }

    public init() {}

    static func decode(_ node: ConfigNode) throws(ConfigError) -> KeyRefreshSettings {
        var map = try node.mapping()
        var settings = KeyRefreshSettings()
        if let n = map.optional("refresh") { settings.refresh = try positive(n) }
        if let n = map.optional("min_refresh") { settings.minRefresh = try positive(n) }
        if let n = map.optional("max_refresh") { settings.maxRefresh = try positive(n) }
        if let n = map.optional("unknown_kid_interval") { settings.unknownKidInterval = try positive(n) }
        if let n = map.optional("fetch_timeout") { settings.fetchTimeout = try positive(n) }
        if let n = map.optional("unknown_kid_ttl") { settings.unknownKidTTL = try positive(n) }
        if let n = map.optional("state_dir") {
            let path = try n.string()
            guard !path.isEmpty else { throw n.error("state_dir is empty; give a directory the proxy may write, e.g. /var/lib/portcullis/keys") }
            settings.stateDir = path
        }
        if let n = map.optional("max_stale") { settings.maxStale = try positive(n) }
        if let n = map.optional("keys_unavailable_action") { settings.keysUnavailableAction = try n.choice() }
        guard settings.minRefresh <= settings.maxRefresh else {
            throw node.error("min_refresh (\(settings.minRefresh)) is longer than max_refresh (\(settings.maxRefresh))")
        }
        try map.finish()
        return settings
    }
}
