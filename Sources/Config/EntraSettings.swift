/// `auth.entra`: Microsoft Entra ID spoken natively. One API's tenant, application ID URI and
/// client id expand to the issuers, discovery URLs and audiences of both token versions, so
/// the v1/v2 issuer and audience forms that trip up hand-written configs cannot be got wrong.
public struct EntraSettings: Sendable, Equatable {
    public enum Version: String, Sendable, CaseIterable {
        case v1, v2
    }

    /// The tenant id (a GUID), or `organizations` / `common` for a multi-tenant API.
    public var tenant: String
    /// Multi-tenant only: the callers' tenants (`tid`) whose tokens are accepted.
    public var allowedTenants: [String] = []

    /// `organizations` or `common`: tokens of many tenants, each naming its own in `iss`.
    public var isMultiTenant: Bool { Self.multiTenantNames.contains(tenant) }
    static let multiTenantNames = ["organizations", "common"]
    /// The application ID URI (`api://service-b`): v1 tokens carry it as `aud`.
    public var audience: String?
    /// The application's client id: v2 tokens carry it as `aud`.
    public var clientID: String?
    public var accept: [Version] = [.v1, .v2]
    /// `https://login.microsoftonline.com`, or a sovereign cloud's host.
    public var authorityHost = "https://login.microsoftonline.com"

    /// The issuers this profile stands for, in the order v1, v2 (those accepted).
    /// Multi-tenant: the issuers are templates (`https://sts.windows.net/{tenantid}/`), keyed by
    /// the `organizations`/`common` discovery documents whose `issuer` is that same template.
    public var issuers: [IssuerSettings] {
        let audiences = [audience, clientID].compactMap { $0 }
        let tid = isMultiTenant ? IssuerSettings.tenantPlaceholder : tenant
        return accept.map { version in
            var issuer: IssuerSettings
            switch version {
            case .v1:
                issuer = IssuerSettings(issuer: "https://sts.windows.net/\(tid)/",
                                        keySource: .discovery(url: "\(authorityHost)/\(tenant)/.well-known/openid-configuration"),
                                        audiences: audiences, algorithms: ["RS256"])
            case .v2:
                issuer = IssuerSettings(issuer: "\(authorityHost)/\(tid)/v2.0",
                                        keySource: .discovery(url: "\(authorityHost)/\(tenant)/v2.0/.well-known/openid-configuration"),
                                        audiences: audiences, algorithms: ["RS256"])
            }
            if isMultiTenant { issuer.tenants = allowedTenants }
            return issuer
        }
    }

    static func decode(_ node: ConfigNode) throws(ConfigError) -> EntraSettings {
        var map = try node.mapping()
        let tenantNode = try map.required("tenant")
        let tenant = try tenantNode.string().lowercased()
        if tenant == "consumers" {
            throw tenantNode.error("'consumers' is personal Microsoft accounts, not service callers; give a tenant id, or organizations with allowed_tenants")
        }
        guard Self.isGUID(tenant) || Self.multiTenantNames.contains(tenant) else {
            throw tenantNode.error("'\(tenant)' is not a tenant id; it looks like 72f988bf-86f1-41af-91ab-2d7cd011db47 (or organizations / common with allowed_tenants)")
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
        // Multi-tenant without a list would trust every Entra tenant in the world: anyone can
        // make one and register an app whose tokens carry this API's audience.
        let tenantsNode = map.optional("allowed_tenants")
        let allowed = try tenantsNode?.stringList().map { $0.lowercased() } ?? []
        if settings.isMultiTenant {
            guard let tenantsNode, !allowed.isEmpty else {
                throw (tenantsNode ?? node).error("tenant '\(tenant)' accepts tokens of any tenant; list the callers' tenant ids in allowed_tenants")
            }
            if let bad = allowed.first(where: { !Self.isGUID($0) }) {
                throw tenantsNode.error("'\(bad)' is not a tenant id (a GUID)")
            }
            settings.allowedTenants = allowed
        } else if let tenantsNode, !allowed.isEmpty {
            throw tenantsNode.error("allowed_tenants is for tenant organizations or common; this profile accepts tenant \(tenant) only")
        }
        try map.finish()
        return settings
    }

    static func isGUID(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        return parts.map(\.count) == [8, 4, 4, 4, 12] && parts.allSatisfy { $0.allSatisfy(\.isHexDigit) }
    }
}
