/// One named source of tokens for outgoing calls (`token_sources.NAME`), which egress routes
/// name. Files are kept as paths with their keys: the token sources read them (a secret file
/// at every fetch, so a rotated secret is picked up) and report a bad one by its key.
public struct TokenSourceSettings: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// Client credentials with a client secret.
        case clientSecret = "client_secret"
        /// Client credentials with a certificate: a signed client assertion (`private_key_jwt`).
        case clientCertificate = "client_certificate"
        /// Azure App Service's managed identity (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`).
        case appServiceIdentity = "app_service_identity"
        /// The Azure instance metadata service's managed identity endpoint.
        case imds
        /// A federated token file exchanged as a client assertion (AKS workload identity).
        case workloadIdentity = "workload_identity"
    }

    /// A certificate and its private key, both PEM.
    public struct CertificatePair: Sendable, Equatable {
        public var cert: LocatedValue
        public var key: LocatedValue
    }

    public var name: String
    public var kind: Kind
    /// `https://login.microsoftonline.com/<tenant-id>`; the token endpoint is this plus
    /// `/oauth2/v2.0/token`.
    public var authority: String?
    /// The client (application) id; for managed identities it selects a user-assigned one.
    public var clientID: String?
    public var clientSecretFile: LocatedValue?
    public var clientCertificate: CertificatePair?
    /// Replaces the token URL for any kind (tests point it at loopback).
    public var endpoint: String?
    /// A PEM bundle of CAs to trust for the token endpoint instead of the system's.
    public var ca: LocatedValue?
    /// Where the source is in the file (`token_sources.NAME`), for errors found when it is used.
    public var origin: LocatedValue

    public init(name: String, kind: Kind, origin: LocatedValue) {
        self.name = name
        self.kind = kind
        self.origin = origin
    }

    /// The URL client credentials are posted to: `endpoint`, else `authority` +
    /// `/oauth2/v2.0/token`; nil when neither is set (managed identities, workload identity
    /// taking its authority from the environment).
    public var tokenEndpoint: String? {
        endpoint ?? authority.map { $0 + "/oauth2/v2.0/token" }
    }

    /// Decodes the `token_sources` mapping of name → settings, in file order.
    static func decodeAll(_ node: ConfigNode) throws(ConfigError) -> [TokenSourceSettings] {
        var sources: [TokenSourceSettings] = []
        for (name, entry) in try node.namedEntries("source", needs: "at least kind") { sources.append(try decode(entry, name: name)) }
        return sources
    }

    static func decode(_ node: ConfigNode, name: String) throws(ConfigError) -> TokenSourceSettings {
        var map = try node.mapping()
        let kindNode = try map.required("kind")
        var settings = TokenSourceSettings(name: name, kind: try kindNode.choice(), origin: LocatedValue(value: name, key: node.path, line: node.line))
        let authorityNode = map.optional("authority")
        if let n = authorityNode {
            var url = try IssuerSettings.fetchURL(n)
            while url.hasSuffix("/") { url.removeLast() }
            settings.authority = url
        }
        if let n = map.optional("client_id") {
            settings.clientID = try n.string()
            guard settings.clientID?.isEmpty == false else { throw n.error("the client id must not be empty") }
        }
        let secretNode = map.optional("client_secret_file")
        settings.clientSecretFile = try secretNode?.located()
        let certificateNode = map.optional("client_certificate")
        if let n = certificateNode {
            var pair = try n.mapping()
            settings.clientCertificate = CertificatePair(cert: try pair.required("cert").located(), key: try pair.required("key").located())
            try pair.finish()
        }
        if let n = map.optional("endpoint") { settings.endpoint = try IssuerSettings.fetchURL(n) }
        if let n = map.optional("ca") { settings.ca = try n.located() }
        try map.finish()

        func require(_ present: Bool, _ key: String) throws(ConfigError) {
            guard present else { throw node.error("kind \(settings.kind.rawValue) needs '\(key)'") }
        }
        func forbid(_ present: ConfigNode?, _ why: String) throws(ConfigError) {
            if let present { throw present.error("kind \(settings.kind.rawValue) does not use this key; \(why)") }
        }
        // Stray keys first: a key of another kind says more about the mistake than what is missing.
        switch settings.kind {
        case .clientSecret:
            try forbid(certificateNode, "a certificate is kind client_certificate")
        case .clientCertificate:
            try forbid(secretNode, "a secret is kind client_secret")
        case .appServiceIdentity, .imds:
            try forbid(authorityNode, "a managed identity's endpoint comes from the platform (override it with endpoint)")
            try forbid(secretNode, "a managed identity has no secret")
            try forbid(certificateNode, "a managed identity has no certificate")
        case .workloadIdentity:
            try forbid(secretNode, "the federated token file (AZURE_FEDERATED_TOKEN_FILE) is the credential")
            try forbid(certificateNode, "the federated token file (AZURE_FEDERATED_TOKEN_FILE) is the credential")
        }
        if settings.kind == .clientSecret || settings.kind == .clientCertificate {
            try require(settings.clientID != nil, "client_id")
            if settings.kind == .clientSecret {
                try require(settings.clientSecretFile != nil, "client_secret_file")
            } else {
                try require(settings.clientCertificate != nil, "client_certificate")
            }
            try require(settings.tokenEndpoint != nil, "authority")
        }
        return settings
    }
}

extension TokenSourceSettings {
    /// The source as the admin listener's `/config` shows it: files by path (the secret file's
    /// path redacted by its key name, as every secret is), never their contents.
    var json: JSONValue {
        .object([
            ("kind", .string(kind.rawValue)),
            ("authority", .optional(authority)),
            ("client_id", .optional(clientID)),
            ("client_secret_file", .optional(clientSecretFile?.value)),
            ("client_certificate", clientCertificate.map { .object([("cert", .string($0.cert.value)), ("key", .string($0.key.value))]) } ?? .null),
            ("endpoint", .optional(endpoint.map(redactingUserinfo))),
            ("ca", .optional(ca?.value)),
        ])
    }
}
