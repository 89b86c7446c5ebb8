/// The calling side (`egress`): listeners the local app sends plain HTTP to, and where each
/// host it calls really goes, with the token to attach. Default deny: a host no route names
/// gets 403.
public struct EgressSettings: Sendable, Equatable {
    /// Loopback listeners for the app (a base URL or `HTTP_PROXY`); plain HTTP/1.1.
    public var listeners: [SocketAddressSettings]
    public var routes: [EgressRoute]

    static func decode(_ node: ConfigNode) throws(ConfigError) -> EgressSettings {
        var map = try node.mapping()
        var listeners: [SocketAddressSettings] = []
        let listenerNode = try map.required("listeners")
        for element in try listenerNode.sequence() {
            var listener = try element.mapping()
            let addressNode = try listener.required("address")
            let text = try addressNode.string()
            guard let address = SocketAddressSettings.parse(text) else {
                throw addressNode.error("'\(text)' is not a numeric address and port; write e.g. 127.0.0.1:15001")
            }
            try listener.finish()
            listeners.append(address)
        }
        guard !listeners.isEmpty else { throw listenerNode.error("at least one egress listener is needed") }
        var routes: [EgressRoute] = []
        let routeNode = try map.required("routes")
        for element in try routeNode.sequence() {
            let route = try EgressRoute.decode(element)
            if routes.contains(where: { $0.host == route.host }) {
                throw element.error("host '\(route.host)' has a route already; each host needs exactly one")
            }
            routes.append(route)
        }
        guard !routes.isEmpty else { throw routeNode.error("at least one route is needed (egress is default deny)") }
        try map.finish()
        return EgressSettings(listeners: listeners, routes: routes)
    }
}

/// One host the app calls (`egress.routes[]`).
public struct EgressRoute: Sendable, Equatable {
    /// Lower-case host name without a port: matched against the request's Host (or its
    /// absolute-form authority), ignoring case and port.
    public var host: String
    /// Where the calls really go; its host is what the upstream sees as Host (and as SNI).
    public var upstream: UpstreamSettings
    /// The token attached as `Authorization: Bearer`, replacing any the app sent; nil: the
    /// call is forwarded without one (and the app's own is still dropped).
    public var token: EgressToken?

    static func decode(_ node: ConfigNode) throws(ConfigError) -> EgressRoute {
        var map = try node.mapping()
        let hostNode = try map.required("host")
        let host = try hostNode.string().lowercased()
        guard !host.isEmpty, !host.contains(":"), !host.contains("/"), !host.contains(" ") else {
            throw hostNode.error("'\(host)' is not a host name; write it without scheme, port or path, e.g. service-b.internal")
        }
        let urlNode = try map.required("upstream")
        let (upstreamHost, port, secure) = try UpstreamSettings.parseURL(urlNode)
        var upstream = UpstreamSettings(host: upstreamHost, port: port)
        upstream.secure = secure
        if let n = map.optional("tls") {
            guard secure else { throw n.error("tls needs an https:// upstream") }
            upstream.tls = try UpstreamTLSSettings.decode(n)
        }
        let token = try map.optional("token").map { (n) throws(ConfigError) in try EgressToken.decode(n) }
        try map.finish()
        return EgressRoute(host: host, upstream: upstream, token: token)
    }
}

/// Which token a route attaches: a configured token source and the scope to ask it for.
public struct EgressToken: Sendable, Equatable {
    public var source: String
    public var scope: String

    static func decode(_ node: ConfigNode) throws(ConfigError) -> EgressToken {
        var map = try node.mapping()
        let source = try map.required("source").string()
        let scopeNode = try map.required("scope")
        let scope = try scopeNode.string()
        guard !scope.isEmpty else { throw scopeNode.error("the scope is empty; e.g. api://service-b/.default") }
        try map.finish()
        return EgressToken(source: source, scope: scope)
    }
}
