/// Who may call, once the token is genuine (`auth.authorization`). Every non-empty list must pass.
public struct AuthorizationSettings: Sendable, Equatable {
    /// `appid` (v1 tokens) or `azp` (v2 tokens) must be one of these.
    public var allowedApplications: [String] = []
    /// `oid` must be one of these.
    public var allowedPrincipals: [String] = []
    /// `tid` must be one of these.
    public var allowedTenants: [String] = []
    /// The token's `roles` must contain every one of these.
    public var requiredRoles: [String] = []
    /// The token's `scp` (space-separated) must contain every one of these.
    public var requiredScopes: [String] = []

    public init() {}

    static func decode(_ node: ConfigNode) throws(ConfigError) -> AuthorizationSettings {
        var map = try node.mapping()
        var settings = AuthorizationSettings()
        if let n = map.optional("allowed_applications") { settings.allowedApplications = try n.stringList() }
        if let n = map.optional("allowed_principals") { settings.allowedPrincipals = try n.stringList() }
        if let n = map.optional("allowed_tenants") { settings.allowedTenants = try n.stringList() }
        if let n = map.optional("required_roles") { settings.requiredRoles = try n.stringList() }
        if let n = map.optional("required_scopes") { settings.requiredScopes = try n.stringList() }
        try map.finish()
        return settings
    }
}
