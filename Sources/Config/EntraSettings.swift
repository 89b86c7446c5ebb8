/// `auth.entra`: Microsoft Entra ID spoken natively. One API's tenant, application ID URI and
/// client id expand to the issuers, discovery URLs and audiences of both token versions, so
/// the v1/v2 issuer and audience forms that trip up hand-written configs cannot be got wrong.
public struct EntraSettings: Sendable, Equatable {
    public enum Version: String, Sendable, CaseIterable {
        case v1, v2
    }

    /// The tenant id (a GUID).
    public var tenant: String
    /// The application ID URI (`api://service-b`): v1 tokens carry it as `aud`.
    public var audience: String?
    /// The application's client id: v2 tokens carry it as `aud`.
    public var clientID: String?
    public var accept: [Version] = [.v1, .v2]
    /// `https://login.microsoftonline.com`, or a sovereign cloud's host.
    public var authorityHost = "https://login.microsoftonline.com"

    /// The issuers this profile stands for, in the order v1, v2 (those accepted).
    public var issuers: [IssuerSettings] {
        let audiences = [audience, clientID].compactMap { $0 }
        return accept.map { version in
            switch version {
            case .v1:
                return IssuerSettings(issuer: "https://sts.windows.net/\(tenant)/",
                                      keySource: .discovery(url: "\(authorityHost)/\(tenant)/.well-known/openid-configuration"),
                                      audiences: audiences, algorithms: ["RS256"])
            case .v2:
                return IssuerSettings(issuer: "\(authorityHost)/\(tenant)/v2.0",
                                      keySource: .discovery(url: "\(authorityHost)/\(tenant)/v2.0/.well-known/openid-configuration"),
                                      audiences: audiences, algorithms: ["RS256"])
            }
        }
    }

    static func decode(_ node: ConfigNode) throws(ConfigError) -> EntraSettings {
        var map = try node.mapping()
        let tenantNode = try map.required("tenant")
        let tenant = try tenantNode.string().lowercased()
        if ["organizations", "common", "consumers"].contains(tenant) {
            throw tenantNode.error("multi-tenant '\(tenant)' is not supported yet; give the tenant id of the callers' tenant (a GUID), or list its issuers under auth.issuers")
        }
        guard Self.isGUID(tenant) else {
            throw tenantNode.error("'\(tenant)' is not a tenant id; it looks like 72f988bf-86f1-41af-91ab-2d7cd011db47")
        }
        var settings = EntraSettings(tenant: tenant)
        settings.audience = try map.optional("audience")?.string()
        if let n = map.optional("client_id") {
            let id = try n.string().lowercased()
            guard Self.isGUID(id) else { throw n.error("'\(id)' is not a client id (a GUID)") }
            settings.clientID = id
        }
        guard settings.audience != nil || settings.clientID != nil else {
            throw node.error("give audience (the application ID URI, for v1 tokens) and client_id (for v2 tokens)")
        }
        if let n = map.optional("accept") {
            var versions: [Version] = []
            for element in try n.sequence() {
                let version: Version = try element.choice()
                guard !versions.contains(version) else { throw element.error("'\(version.rawValue)' is listed twice") }
                versions.append(version)
            }
            guard !versions.isEmpty else { throw n.error("accept at least one token version: v1, v2") }
            settings.accept = versions
        }
        if let n = map.optional("authority_host") {
            var host = try IssuerSettings.fetchURL(n)
            while host.hasSuffix("/") { host.removeLast() }
            settings.authorityHost = host
        }
        if let n = map.optional("allowed_tenants") {
            guard try n.stringList().isEmpty else {
                throw n.error("allowed_tenants is for multi-tenant profiles, which are not supported yet")
            }
        }
        try map.finish()
        return settings
    }

    static func isGUID(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        return parts.map(\.count) == [8, 4, 4, 4, 12] && parts.allSatisfy { $0.allSatisfy(\.isHexDigit) }
    }
}
