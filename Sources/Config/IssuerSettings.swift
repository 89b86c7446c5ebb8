/// One trusted token issuer (`auth.issuers[]`) and where its keys come from.
public struct IssuerSettings: Sendable, Equatable {
    /// Exactly one source of keys; the token never supplies its own.
    public enum KeySource: Sendable, Equatable {
        /// OpenID Connect discovery document; its `issuer` must equal ``IssuerSettings/issuer``.
        case discovery(url: String)
        case jwksURL(String)
        case jwksFile(path: String)
    }

    /// What a template issuer holds where each tenant's id goes, spelled as Entra's multi-tenant
    /// discovery documents spell it, so a fetched document's `issuer` equals the template.
    public static let tenantPlaceholder = "{tenantid}"

    public static let supportedAlgorithms = [
        "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
        "HS256", "HS384", "HS512",
    ]

    /// Matched exactly against the token's `iss`; or, with ``tenants``, a template holding
    /// ``tenantPlaceholder`` (Entra's multi-tenant form, as its discovery documents write it).
    public var issuer: String
    /// For a template issuer: the tenants (`tid`) whose tokens are accepted; the token's `iss`
    /// must be the template with its own `tid` in place. Empty: the issuer is exact.
    public var tenants: [String] = []
    public var keySource: KeySource
    /// The token's `aud` (string or any element of an array) must be one of these.
    public var audiences: [String]
    /// Allow-list of JWS `alg` values.
    public var algorithms: [String]
    /// A file holding the shared secret for HS256/384/512; only HMAC algorithms use it.
    public var hmacSecretFile: String?
    /// A PEM bundle trusted (instead of the system's roots) for this issuer's discovery and
    /// JWKS over https: a private CA, a corporate identity provider's, the dev issuer's.
    public var ca: LocatedValue?
    /// A JWKS file used until the first fetch (or state file) gives keys: the sidecar is ready
    /// at once, even with the identity provider unreachable at start.
    public var bootstrapJWKS: LocatedValue?

    public init(issuer: String, keySource: KeySource, audiences: [String], algorithms: [String] = ["RS256"],
                hmacSecretFile: String? = nil) {
        self.issuer = issuer
        self.keySource = keySource
        self.audiences = audiences
        self.algorithms = algorithms
        self.hmacSecretFile = hmacSecretFile
    }

    static func decode(_ node: ConfigNode) throws(ConfigError) -> IssuerSettings {
        var map = try node.mapping()
        let issuerNode = try map.required("issuer")
        let issuer = try issuerNode.string()
        guard !issuer.isEmpty else { throw issuerNode.error("the issuer must not be empty") }
        guard !issuer.contains(tenantPlaceholder) else {
            throw issuerNode.error("'\(issuer)' is a multi-tenant template; use auth.entra with tenant: organizations and allowed_tenants, which checks each token's tid")
        }

        var sources: [KeySource] = []
        if let n = map.optional("discovery_url") { sources.append(.discovery(url: try fetchURL(n))) }
        if let n = map.optional("jwks_url") { sources.append(.jwksURL(try fetchURL(n))) }
        if let n = map.optional("jwks_file") { sources.append(.jwksFile(path: try n.string())) }
        guard sources.count == 1, let keySource = sources.first else {
            throw node.error("issuer '\(issuer)' needs exactly one of discovery_url, jwks_url or jwks_file (found \(sources.count))")
        }

        let audiencesNode = try map.required("audiences")
        let audiences = try audiencesNode.stringList()
        guard !audiences.isEmpty, !audiences.contains("") else {
            throw audiencesNode.error("list at least one audience this service accepts, e.g. api://service-b")
        }

        var algorithms = ["RS256"]
        if let n = map.optional("algorithms") {
            algorithms = []
            for element in try n.sequence() {
                let alg = try element.string()
                guard supportedAlgorithms.contains(alg) else {
                    throw element.error("'\(alg)' is not a supported algorithm; use one of " + supportedAlgorithms.joined(separator: ", "))
                }
                algorithms.append(alg)
            }
            guard !algorithms.isEmpty else { throw n.error("the algorithm allow-list must not be empty") }
        }

        let secretNode = map.optional("hmac_secret_file")
        let secret = try secretNode?.string()
        let wantsHMAC = algorithms.contains { $0.hasPrefix("HS") }
        if wantsHMAC && secret == nil {
            throw node.error("issuer '\(issuer)' allows HMAC algorithms but has no hmac_secret_file")
        }
        if let secretNode, !wantsHMAC {
            throw secretNode.error("hmac_secret_file is set but no HS256/HS384/HS512 algorithm is allowed")
        }
        var ca: LocatedValue?
        if let n = map.optional("ca") {
            if case .jwksFile = keySource { throw n.error("ca is for keys fetched over https; this issuer reads a jwks_file") }
            ca = try n.located()
        }
        var bootstrap: LocatedValue?
        if let n = map.optional("bootstrap_jwks") {
            if case .jwksFile = keySource { throw n.error("bootstrap_jwks is for keys fetched over the network; this issuer reads a jwks_file") }
            bootstrap = try n.located()
        }
        try map.finish()
        var settings = IssuerSettings(issuer: issuer, keySource: keySource, audiences: audiences,
                                      algorithms: algorithms, hmacSecretFile: secret)
        settings.ca = ca
        settings.bootstrapJWKS = bootstrap
        return settings
    }

    /// Keys travel over https; plain http is accepted only to this host (tests, a local mock IdP).
    static func fetchURL(_ node: ConfigNode) throws(ConfigError) -> String {
        let url = try node.string()
        if url.hasPrefix("https://") { return url }
        let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        if loopback.contains(where: { url.hasPrefix($0 + ":") || url.hasPrefix($0 + "/") }) { return url }
        throw node.error("'\(url)' must be an https:// URL (plain http is accepted only for 127.0.0.1, ::1 and localhost)")
    }
}
