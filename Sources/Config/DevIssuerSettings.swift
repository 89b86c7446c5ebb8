/// The dev issuer's file (`portcullis dev-issuer --config FILE`): a local identity provider
/// shaped like Microsoft Entra ID, for laptops, tests and the demo; never for production.
///
/// Registered clients (who ask for tokens), applications (what tokens are for, with their app
/// roles) and role assignments, as an Entra tenant holds them. Identifiers are plain strings:
/// real Entra client ids are GUIDs, and any GUID-shaped value works as one here.
public struct DevIssuerSettings: Sendable, Equatable {
    /// A client that asks for tokens (an app registration's credentials).
    public struct Client: Sendable, Equatable {
        public var name: String
        public var clientID: String
        /// A client secret, written in the file (this is a development tool).
        public var clientSecret: String?
        /// A PEM certificate whose key signs the client's assertions (`private_key_jwt`).
        public var certificate: LocatedValue?
        /// The service principal's object id (`oid`, `sub`); derived from the client id if absent.
        public var objectID: String?
    }

    /// An application tokens are issued for (a resource, "API" in Entra's words).
    public struct Application: Sendable, Equatable {
        public var name: String
        public var clientID: String
        /// Application ID URIs (`api://service-b`); a scope is one of these (or the client id)
        /// followed by `/.default`.
        public var identifierURIs: [String]
        /// 1: `iss` is `https://sts.windows.net/{tid}/` and `aud` the requested URI; 2: `iss` is
        /// `{base}/{tid}/v2.0` and `aud` the client id. Entra's default (an unset
        /// `accessTokenAcceptedVersion`) is 1.
        public var accessTokenVersion: Int
        /// A client needs a role assignment to get a token at all (Entra's "assignment required").
        public var assignmentRequired: Bool
        public var appRoles: [String]
    }

    /// Roles of one client on one application; both are client ids once decoded.
    public struct RoleAssignment: Sendable, Equatable {
        public var client: String
        public var application: String
        public var roles: [String]

        public init(client: String, application: String, roles: [String]) {
            self.client = client
            self.application = application
            self.roles = roles
        }
    }

    /// The App Service managed-identity protocol at `/msi/token`, answering as one client.
    public struct ManagedIdentity: Sendable, Equatable {
        /// The client id whose tokens the endpoint gives.
        public var client: String
        /// A file holding the `X-IDENTITY-HEADER` value (its trailing newline is not part of it).
        public var headerSecretFile: LocatedValue
    }

    public var listen: SocketAddressSettings
    /// The scheme, host and port clients use (`https://localhost:9400`); from `listen` when absent.
    public var baseURL: String?
    /// Serve https with this certificate and key.
    public var tls: TLSSettings?
    public var managedIdentity: ManagedIdentity?
    public var tenantID: String
    /// How long an issued token lives (`expires_in`).
    public var tokenLifetime: Duration
    /// A PEM RSA private key to sign with first; absent: one is generated at start.
    public var signingKey: LocatedValue?
    public var clients: [Client]
    public var applications: [Application]
    public var roleAssignments: [RoleAssignment]

    public init(listen: SocketAddressSettings, tenantID: String, tokenLifetime: Duration = .seconds(3600),
                clients: [Client] = [], applications: [Application] = [], roleAssignments: [RoleAssignment] = []) {
        self.listen = listen
        self.tenantID = tenantID
        self.tokenLifetime = tokenLifetime
        self.clients = clients
        self.applications = applications
        self.roleAssignments = roleAssignments
    }

    /// Reads and validates the file at `path`.
    public static func load(path: String) throws(ConfigError) -> DevIssuerSettings {
        try parse(yaml: try ConfigDocument.text(path: path))
    }

    /// Validates YAML text; every failure names the key (and line) that is wrong.
    public static func parse(yaml: String) throws(ConfigError) -> DevIssuerSettings {
        try decode(try ConfigDocument.root(yaml: yaml, needs: "'listen' and 'tenant_id'"))
    }

    /// Whether listening here exposes the issuer beyond this machine (then `--allow-remote`
    /// must be given): anything but a loopback address.
    public var listensBeyondLoopback: Bool {
        !(listen.isIPv6 ? listen.host == "::1" : listen.host.hasPrefix("127."))
    }
}
