/// The bearer-token requirement (`auth`). Absent section: no token is required.
public struct AuthSettings: Sendable, Equatable {
    public enum UnauthenticatedAction: String, Sendable, CaseIterable {
        /// 401 for a request without a valid token.
        case reject
        /// Forward a request without a token, but with no identity headers; a bad token is still 401.
        case allowAnonymous = "allow_anonymous"
    }

    public enum IdentityHeaders: String, Sendable, CaseIterable {
        case easyAuth = "easy_auth"
        case none
    }

    public var unauthenticatedAction: UnauthenticatedAction = .reject
    /// Exact paths, or prefixes written with a trailing `/*`, that skip the token check (matched
    /// against the normalized path, before any route).
    public var excludedPaths: [String] = []
    public var clockSkew: Duration = .seconds(60)
    public var issuers: [IssuerSettings] = []
    public var authorization: AuthorizationSettings = .init()
    public var identityHeaders: IdentityHeaders = .easyAuth
    /// Extra upstream headers filled from claims: lower-cased header name → claim name, in file order.
    public var claimHeaders: [(header: String, claim: String)] = []
    public var cache: TokenCacheSettings = .init()
    public var keys: KeyRefreshSettings = .init()
    public var mode: EnforcementMode = .enforce
    /// `auth.entra`, when set: its issuers are part of ``issuers`` already.
    public var entra: EntraSettings?

    public init() {}

    public static func == (a: AuthSettings, b: AuthSettings) -> Bool {
        a.unauthenticatedAction == b.unauthenticatedAction && a.excludedPaths == b.excludedPaths
            && a.clockSkew == b.clockSkew && a.issuers == b.issuers && a.authorization == b.authorization
            && a.identityHeaders == b.identityHeaders && a.cache == b.cache && a.keys == b.keys
            && a.claimHeaders.map(\.header) == b.claimHeaders.map(\.header)
            && a.claimHeaders.map(\.claim) == b.claimHeaders.map(\.claim)
    }

    /// Headers that carry identity to the upstream; a client's copies are always stripped, so a
    /// `claim_headers` entry may not reuse these names either.
    public static let reservedHeaderPrefix = "x-ms-client-principal"
    static let forbiddenClaimHeaders: Set<String> = [
        "host", "authorization", "connection", "keep-alive", "proxy-connection", "te", "trailer",
        "transfer-encoding", "upgrade", "content-length", "x-forwarded-for", "x-forwarded-proto",
        "x-forwarded-host", "forwarded", "cookie",
    ]

    static func decode(_ node: ConfigNode) throws(ConfigError) -> AuthSettings {
        var map = try node.mapping()
        var auth = AuthSettings()
        if let n = map.optional("unauthenticated_action") { auth.unauthenticatedAction = try n.choice() }
        if let n = map.optional("excluded_paths") {
            for element in try n.sequence() { auth.excludedPaths.append(try element.pathPattern()) }
        }
        if let n = map.optional("clock_skew") { auth.clockSkew = try n.duration() }
        if auth.clockSkew > .seconds(600) {
            throw ConfigError(key: node.child("clock_skew"), line: nil, reason: "a clock skew over 10m would accept long-expired tokens")
        }
        var seen: Set<String> = []
        if let n = map.optional("entra") {
            let entra = try EntraSettings.decode(n)
            auth.entra = entra
            for issuer in entra.issuers {
                seen.insert(issuer.issuer)
                auth.issuers.append(issuer)
            }
        }
        // With an Entra profile the issuers list is optional (other identity providers beside it).
        let issuersNode = auth.entra == nil ? try map.required("issuers") : map.optional("issuers")
        if let issuersNode {
            for element in try issuersNode.sequence() {
                let issuer = try IssuerSettings.decode(element)
                guard seen.insert(issuer.issuer).inserted else {
                    throw element.error("issuer '\(issuer.issuer)' is listed twice (or comes from auth.entra already)")
                }
                auth.issuers.append(issuer)
            }
        }
        guard !auth.issuers.isEmpty else {
            throw (issuersNode ?? node).error("at least one issuer is needed (auth.issuers or auth.entra)")
        }
        if let n = map.optional("authorization") { auth.authorization = try AuthorizationSettings.decode(n) }
        if let n = map.optional("identity_headers") { auth.identityHeaders = try n.choice() }
        if let n = map.optional("claim_headers") {
            var headers = try n.mapping()
            for key in headers.keys {
                let value = try headers.required(key)
                let name = key.lowercased()
                guard isToken(name) else { throw value.error("'\(key)' is not a valid header name") }
                guard !name.hasPrefix(reservedHeaderPrefix), !forbiddenClaimHeaders.contains(name) else {
                    throw value.error("'\(key)' is reserved; Portcullis sets or strips it itself")
                }
                auth.claimHeaders.append((name, try value.string()))
            }
            try headers.finish()
        }
        if let n = map.optional("cache") { auth.cache = try TokenCacheSettings.decode(n) }
        if let n = map.optional("keys") { auth.keys = try KeyRefreshSettings.decode(n) }
        if let n = map.optional("mode") { auth.mode = try n.choice() }
        try map.finish()
        return auth
    }
}

/// RFC 9110 token characters, the only ones a header name may use.
func isToken(_ text: String) -> Bool {
    !text.isEmpty && text.utf8.allSatisfy { byte in
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}

extension ConfigNode {
    /// One of an enum's raw values, with the accepted ones listed in the error.
    func choice<T: RawRepresentable & CaseIterable>() throws(ConfigError) -> T where T.RawValue == String {
        let text = try string()
        guard let value = T(rawValue: text) else {
            throw error("'\(text)' is not one of: " + T.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return value
    }
}
