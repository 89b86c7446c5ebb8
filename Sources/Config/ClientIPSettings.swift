/// Who the client is (`client_ip`): the TCP peer, unless the peer is a trusted proxy whose
/// forwarding header is then read. Absent section: the TCP peer, always.
public struct ClientIPSettings: Sendable, Equatable {
    public enum Header: String, Sendable, CaseIterable {
        case xForwardedFor = "x-forwarded-for"
        /// RFC 7239 `Forwarded: for=...`.
        case forwarded
    }

    /// Peers whose forwarding headers are believed (CIDRs, validated by NetworkPolicy).
    public var trustedProxies: [LocatedValue] = []
    public var header: Header = .xForwardedFor
    /// Alternative to walking past trusted proxies: take the Nth address from the right, as
    /// Envoy's xff_num_trusted_hops. With `trusted_proxies` also set, only for trusted peers.
    public var trustedHops: Int?
    /// Lets `trusted_proxies` hold a /0 (every address); without it that is a config error.
    public var allowAnyTrustedProxy = false

    public init() {}

    static func decode(_ node: ConfigNode) throws(ConfigError) -> ClientIPSettings {
        var map = try node.mapping()
        var settings = ClientIPSettings()
        if let n = map.optional("trusted_proxies") { settings.trustedProxies = try n.locatedList() }
        if let n = map.optional("header") { settings.header = try n.choice() }
        if let n = map.optional("trusted_hops") { settings.trustedHops = try n.int(in: 1...16) }
        if let n = map.optional("allow_any_trusted_proxy") { settings.allowAnyTrustedProxy = try n.bool() }
        // Trusting every peer's forwarding header lets any client name its own address and walk
        // past every network rule: refuse it unless the file says, in so many words, that this
        // listener is only reachable through proxies that overwrite the header.
        if !settings.allowAnyTrustedProxy,
           let everything = settings.trustedProxies.first(where: { $0.value.hasSuffix("/0") }) {
            throw ConfigError(key: everything.key, line: everything.line,
                              reason: "'\(everything.value)' trusts every peer's forwarding header, so any client could choose its own address and pass the network rules; list the proxies' real addresses, or set client_ip.allow_any_trusted_proxy: true if only proxies that overwrite the header can reach this listener")
        }
        if settings.trustedProxies.isEmpty && settings.trustedHops == nil {
            throw node.error("list trusted_proxies (or set trusted_hops): without them no forwarding header is believed and the section has no effect")
        }
        try map.finish()
        return settings
    }
}
