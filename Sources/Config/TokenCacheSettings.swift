/// The validated-token cache (`auth.cache`).
public struct TokenCacheSettings: Sendable, Equatable {
    /// Entries for the whole process, shared by all workers.
    public var maxEntries: Int = 10_000

    public init() {}

    static func decode(_ node: ConfigNode) throws(ConfigError) -> TokenCacheSettings {
        var map = try node.mapping()
        var settings = TokenCacheSettings()
        if let n = map.optional("max_entries") { settings.maxEntries = try n.int(in: 0...10_000_000) }
        try map.finish()
        return settings
    }
}
