extension DevIssuerSettings {
    static func decode(_ root: ConfigNode) throws(ConfigError) -> DevIssuerSettings {
        var map = try root.mapping()
        let listenNode = try map.required("listen")
        let listenText = try listenNode.string()
        guard let listen = SocketAddressSettings.parse(listenText) else {
            throw listenNode.error("'\(listenText)' is not a numeric address and port; write e.g. 127.0.0.1:9400")
        }
        let tenantNode = try map.required("tenant_id")
        let tenantID = try tenantNode.string()
        guard Self.isIdentifier(tenantID) else {
            throw tenantNode.error("the tenant id must be a non-empty name without '/', '?', '#' or spaces (a GUID, as Entra's)")
        }
        var settings = DevIssuerSettings(listen: listen, tenantID: tenantID)
        if let n = map.optional("tls") {
            var tls = try n.mapping()
            let certificate = TLSSettings.Certificate(cert: try tls.required("cert").located(), key: try tls.required("key").located())
            try tls.finish()
            settings.tls = TLSSettings(certificates: [certificate])
        }
        if let n = map.optional("base_url") { settings.baseURL = try Self.baseURL(n, tls: settings.tls != nil) }
        if settings.baseURL == nil, ["0.0.0.0", "::"].contains(listen.host) {
            throw listenNode.error("listening on every address, the issuer cannot tell its own URL; set base_url (e.g. https://issuer.internal:9400)")
        }
        if let n = map.optional("token_lifetime") {
            settings.tokenLifetime = try n.duration()
            guard settings.tokenLifetime >= .seconds(1), settings.tokenLifetime <= .seconds(86_400) else {
                throw n.error("the token lifetime must be from 1s to 24h")
            }
        }
        if let n = map.optional("signing_key") { settings.signingKey = try n.located() }
        let clientsNode = map.optional("clients")
        if let n = clientsNode {
            for element in try n.sequence() { settings.clients.append(try Self.client(element)) }
            try Self.requireUnique(settings.clients.map(\.name), "name", in: n)
            try Self.requireUnique(settings.clients.map(\.clientID), "client_id", in: n)
        }
        if let n = map.optional("applications") {
            for element in try n.sequence() { settings.applications.append(try Self.application(element)) }
            try Self.requireUnique(settings.applications.map(\.name), "name", in: n)
            try Self.requireUnique(settings.applications.map(\.clientID), "client_id", in: n)
            try Self.requireUnique(settings.applications.flatMap(\.identifierURIs), "identifier URI", in: n)
        }
        if let n = map.optional("role_assignments") {
            for element in try n.sequence() { settings.roleAssignments.append(try settings.assignment(element)) }
        }
        if let n = map.optional("managed_identity") {
            var mi = try n.mapping()
            let clientNode = try mi.required("client")
            guard let client = settings.client(named: try clientNode.string()) else {
                throw clientNode.error("no client has this name or client_id")
            }
            let file = try mi.required("header_secret_file").located()
            try mi.finish()
            settings.managedIdentity = ManagedIdentity(client: client.clientID, headerSecretFile: file)
        }
        try map.finish()
        if let n = clientsNode {
            for (index, client) in settings.clients.enumerated()
            where client.clientSecret == nil && client.certificate == nil && settings.managedIdentity?.client != client.clientID {
                throw ConfigError(key: "\(n.path)[\(index)]", line: nil,
                                  reason: "client '\(client.name)' has no credential; give it client_secret or certificate (or make it the managed_identity client)")
            }
        }
        return settings
    }

    /// The client with this name or client id.
    func client(named text: String) -> Client? {
        clients.first { $0.name == text } ?? clients.first { $0.clientID == text }
    }

    /// The application with this name or client id.
    func application(named text: String) -> Application? {
        applications.first { $0.name == text } ?? applications.first { $0.clientID == text }
    }

    private static func client(_ node: ConfigNode) throws(ConfigError) -> Client {
        var map = try node.mapping()
        let name = try identifier(try map.required("name"))
        let clientID = try identifier(try map.required("client_id"))
        var client = Client(name: name, clientID: clientID)
        if let n = map.optional("client_secret") {
            client.clientSecret = try n.string()
            guard client.clientSecret?.isEmpty == false else { throw n.error("the client secret must not be empty") }
        }
        if let n = map.optional("certificate") { client.certificate = try n.located() }
        if let n = map.optional("object_id") { client.objectID = try identifier(n) }
        try map.finish()
        return client
    }

    private static func application(_ node: ConfigNode) throws(ConfigError) -> Application {
        var map = try node.mapping()
        let name = try identifier(try map.required("name"))
        let clientID = try identifier(try map.required("client_id"))
        var application = Application(name: name, clientID: clientID, identifierURIs: [], accessTokenVersion: 1,
                                      assignmentRequired: false, appRoles: [])
        if let n = map.optional("identifier_uris") {
            application.identifierURIs = try n.stringList()
            for (index, uri) in application.identifierURIs.enumerated() where !isIdentifierURI(uri) {
                throw ConfigError(key: "\(n.path)[\(index)]", line: n.line,
                                  reason: "'\(uri)' is not an application ID URI such as api://service-b (no spaces, no trailing '/', not ending in /.default)")
            }
        }
        if let n = map.optional("access_token_version") { application.accessTokenVersion = try n.int(in: 1...2) }
        if let n = map.optional("assignment_required") { application.assignmentRequired = try n.bool() }
        if let n = map.optional("app_roles") {
            application.appRoles = try n.stringList()
            try requireUnique(application.appRoles, "role", in: n)
            if let bad = application.appRoles.first(where: { !isIdentifier($0) }) {
                throw n.error("'\(bad)' is not a role value (no spaces or '/')")
            }
        }
        try map.finish()
        return application
    }

    private func assignment(_ node: ConfigNode) throws(ConfigError) -> RoleAssignment {
        var map = try node.mapping()
        let clientNode = try map.required("client")
        guard let client = client(named: try clientNode.string()) else {
            throw clientNode.error("no client has this name or client_id")
        }
        let applicationNode = try map.required("application")
        guard let application = application(named: try applicationNode.string()) else {
            throw applicationNode.error("no application has this name or client_id")
        }
        let rolesNode = try map.required("roles")
        let roles = try rolesNode.stringList()
        guard !roles.isEmpty else { throw rolesNode.error("list at least one of the application's app_roles") }
        if let unknown = roles.first(where: { !application.appRoles.contains($0) }) {
            throw rolesNode.error("'\(unknown)' is not one of \(application.name)'s app_roles (\(application.appRoles.joined(separator: ", ")))")
        }
        try map.finish()
        return RoleAssignment(client: client.clientID, application: application.clientID, roles: roles)
    }

    private static func baseURL(_ node: ConfigNode, tls: Bool) throws(ConfigError) -> String {
        var url = try node.string()
        while url.hasSuffix("/") { url.removeLast() }
        let scheme = tls ? "https://" : "http://"
        guard url.hasPrefix(scheme), url.count > scheme.count, !url.contains(where: { $0 == " " || $0 == "?" || $0 == "#" }) else {
            throw node.error("'\(url)' must be a \(scheme) URL (scheme, host and port, e.g. \(scheme)localhost:9400)\(tls ? "" : "; https needs tls")")
        }
        return url
    }

    private static func identifier(_ node: ConfigNode) throws(ConfigError) -> String {
        let text = try node.string()
        guard isIdentifier(text) else { throw node.error("'\(text)' must be non-empty, without '/', '?', '#' or spaces") }
        return text
    }

    static func isIdentifier(_ text: String) -> Bool {
        !text.isEmpty && !text.contains { $0 == "/" || $0 == "?" || $0 == "#" || $0.isWhitespace }
    }

    static func isIdentifierURI(_ text: String) -> Bool {
        !text.isEmpty && !text.hasSuffix("/") && !text.hasSuffix("/.default") && !text.contains { $0.isWhitespace || $0 == "?" || $0 == "#" }
    }

    private static func requireUnique(_ values: [String], _ what: String, in node: ConfigNode) throws(ConfigError) {
        var seen: Set<String> = []
        for value in values where !seen.insert(value.lowercased()).inserted {
            throw node.error("the \(what) '\(value)' appears twice")
        }
    }
}
