/// The one backend that admitted requests go to (`upstream`).
public struct UpstreamSettings: Sendable, Equatable {
    /// Host name or numeric address, without brackets; resolved once at startup.
    public var host: String
    public var port: UInt16
    /// Idle keep-alive connections each worker keeps to the upstream.
    public var maxIdleConnections: Int
    public var connectTimeout: Duration
    /// How long the upstream may take to start its response once the request was sent.
    public var responseTimeout: Duration
    /// What the upstream speaks: HTTP/1.1 (a pool of keep-alive connections) or HTTP/2 with
    /// prior knowledge (streams multiplexed on one connection per worker; needed for gRPC).
    public var protocolVersion: ApplicationProtocol = .http11
    /// `https://` upstream: TLS with the server's certificate verified.
    public var secure = false
    /// Verification and client-certificate settings for an `https://` upstream.
    public var tls: UpstreamTLSSettings?

    public init(host: String, port: UInt16, maxIdleConnections: Int = 64,
                connectTimeout: Duration = .seconds(2), responseTimeout: Duration = .seconds(60)) {
        self.host = host
        self.port = port
        self.maxIdleConnections = maxIdleConnections
        self.connectTimeout = connectTimeout
        self.responseTimeout = responseTimeout
    }

    public var url: String {
        let scheme = secure ? "https" : "http"
        return host.contains(":") ? "\(scheme)://[\(host)]:\(port)" : "\(scheme)://\(host):\(port)"
    }

    static func decode(_ node: ConfigNode) throws(ConfigError) -> UpstreamSettings {
        var map = try node.mapping()
        let urlNode = try map.required("url")
        let (host, port, secure) = try parseURL(urlNode)
        var settings = UpstreamSettings(host: host, port: port)
        settings.secure = secure
        if let n = map.optional("max_idle_connections") { settings.maxIdleConnections = try n.int(in: 0...100_000) }
        if let n = map.optional("connect_timeout") { settings.connectTimeout = try positive(n) }
        if let n = map.optional("response_timeout") { settings.responseTimeout = try positive(n) }
        if let n = map.optional("protocol") {
            switch try n.string() {
            case "http1": settings.protocolVersion = .http11
            case "h2": settings.protocolVersion = .h2
            case let other: throw n.error("'\(other)' is not an upstream protocol; write http1 or h2")
            }
        }
        if let n = map.optional("tls") {
            guard secure else { throw n.error("upstream.tls needs an https:// upstream url") }
            settings.tls = try UpstreamTLSSettings.decode(n)
        }
        try map.finish()
        return settings
    }

    static func parseURL(_ node: ConfigNode) throws(ConfigError) -> (String, UInt16, Bool) {
        let text = try node.string()
        let secure = text.hasPrefix("https://")
        guard secure || text.hasPrefix("http://") else {
            throw node.error("'\(text)' is not an upstream URL; write http://host:port or https://host:port, e.g. http://127.0.0.1:8000")
        }
        var rest = Substring(text.dropFirst(secure ? "https://".count : "http://".count))
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("/"), !rest.contains("@"), !rest.contains("?") else {
            throw node.error("'\(text)' has a path, query or user part; the upstream URL is only http://host:port")
        }
        var host: Substring, port: UInt16 = secure ? 443 : 80
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw node.error("'\(text)' has an unclosed '['") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = UInt16(after.dropFirst()), p > 0 else { throw node.error("'\(text)' has a bad port") }
                port = p
            } else if !after.isEmpty {
                throw node.error("'\(text)' is not http://host:port")
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            guard let p = UInt16(rest[rest.index(after: colon)...]), p > 0 else {
                throw node.error("'\(text)' has a bad port; ports are 1-65535")
            }
            port = p
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw node.error("'\(text)' has no host") }
        return (String(host), port, secure)
    }
}

func positive(_ node: ConfigNode) throws(ConfigError) -> Duration {
    let value = try node.duration()
    guard value > .zero else { throw node.error("must be longer than zero") }
    return value
}

/// TLS to an `https://` upstream (`upstream.tls`): whose certificates to trust, the name to
/// verify (and send as SNI), and an optional client certificate.
public struct UpstreamTLSSettings: Sendable, Equatable {
    /// PEM bundle of trusted CAs; nil: the system's store.
    public var ca: LocatedValue?
    /// The name the certificate must carry; nil: the url's host.
    public var serverName: String?
    public var cert: LocatedValue?
    public var key: LocatedValue?

    public init() {}

    static func decode(_ node: ConfigNode) throws(ConfigError) -> UpstreamTLSSettings {
        var map = try node.mapping()
        var settings = UpstreamTLSSettings()
        if let n = map.optional("ca") { settings.ca = try n.located() }
        if let n = map.optional("server_name") { settings.serverName = try n.string() }
        if let n = map.optional("cert") { settings.cert = try n.located() }
        if let n = map.optional("key") { settings.key = try n.located() }
        guard (settings.cert == nil) == (settings.key == nil) else {
            throw node.error("a client certificate needs both cert and key")
        }
        try map.finish()
        return settings
    }
}
