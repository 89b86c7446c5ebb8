/// Who may call, once the token is genuine: `auth.authorization` (the default), or a route's
/// `require` in its place. Every requirement that is set must hold.
public struct AuthorizationSettings: Sendable, Equatable {
    /// `appid` (v1 tokens) or `azp` (v2 tokens) must be one of these.
    public var allowedApplications: [String] = []
    /// `oid` must be one of these.
    public var allowedPrincipals: [String] = []
    /// `tid` must be one of these.
    public var allowedTenants: [String] = []
    /// What the token's `roles` must hold.
    public var roles = RequiredValues()
    /// What the token's `scp` (space-separated) must hold.
    public var scopes = RequiredValues()

    public init() {}

    /// Nothing is required beyond a genuine token.
    public var isEmpty: Bool {
        allowedApplications.isEmpty && allowedPrincipals.isEmpty && allowedTenants.isEmpty && roles.isEmpty && scopes.isEmpty
    }

    /// One line, e.g. `roles all of [Admin]; scopes any of [a, b]; applications [x]`, for `portcullis check`.
    public var summary: String {
        var parts: [String] = []
        if !roles.isEmpty { parts.append(roles.summary("roles")) }
        if !scopes.isEmpty { parts.append(scopes.summary("scopes")) }
        if !allowedApplications.isEmpty { parts.append("applications [\(allowedApplications.joined(separator: ", "))]") }
        if !allowedPrincipals.isEmpty { parts.append("principals [\(allowedPrincipals.joined(separator: ", "))]") }
        if !allowedTenants.isEmpty { parts.append("tenants [\(allowedTenants.joined(separator: ", "))]") }
        return parts.isEmpty ? "a valid token" : parts.joined(separator: "; ")
    }

    /// `auth.authorization`: empty lists mean no restriction, as they always did;
    /// `required_roles`/`required_scopes` as a plain list mean all of them.
    static func decode(_ node: ConfigNode) throws(ConfigError) -> AuthorizationSettings {
        var map = try node.mapping()
        var settings = AuthorizationSettings()
        if let n = map.optional("allowed_applications") { settings.allowedApplications = try n.nonEmptyStrings(allowEmpty: true) }
        if let n = map.optional("allowed_principals") { settings.allowedPrincipals = try n.nonEmptyStrings(allowEmpty: true) }
        if let n = map.optional("allowed_tenants") { settings.allowedTenants = try n.nonEmptyStrings(allowEmpty: true) }
        if let n = map.optional("required_roles") { settings.roles = try RequiredValues.decode(n, allowEmptyList: true) }
        if let n = map.optional("required_scopes") { settings.scopes = try RequiredValues.decode(n, allowEmptyList: true) }
        try map.finish()
        return settings
    }

    /// A route's `require`: the same checks under shorter names. Every key written must require
    /// something, and at least one must be written (a route that needs no token says `auth: none`).
    static func decodeRequirement(_ node: ConfigNode) throws(ConfigError) -> AuthorizationSettings {
        var map = try node.mapping()
        var settings = AuthorizationSettings()
        if let n = map.optional("roles") { settings.roles = try RequiredValues.decode(n, allowEmptyList: false) }
        if let n = map.optional("scopes") { settings.scopes = try RequiredValues.decode(n, allowEmptyList: false) }
        if let n = map.optional("applications") { settings.allowedApplications = try n.nonEmptyStrings(allowEmpty: false) }
        if let n = map.optional("principals") { settings.allowedPrincipals = try n.nonEmptyStrings(allowEmpty: false) }
        if let n = map.optional("tenants") { settings.allowedTenants = try n.nonEmptyStrings(allowEmpty: false) }
        try map.finish()
        guard !settings.isEmpty else {
            throw node.error("a requirement with nothing in it; use auth: none or list a requirement (roles, scopes, applications, principals, tenants)")
        }
        return settings
    }
}
