/// One socket the proxy accepts on (`listeners[]`).
public struct ListenerSettings: Sendable, Equatable {
    public var address: SocketAddressSettings
    /// Expect a PROXY protocol (v1 or v2) header first on every connection (before any TLS).
    public var proxyProtocol: Bool
    /// TLS termination; nil for cleartext.
    public var tls: TLSSettings?
    /// Offered protocols in order of preference (the ALPN list under TLS).
    public var protocols: [ApplicationProtocol]

    public init(address: SocketAddressSettings, proxyProtocol: Bool = false, tls: TLSSettings? = nil,
                protocols: [ApplicationProtocol] = [.http11]) {
        self.address = address
        self.proxyProtocol = proxyProtocol
        self.tls = tls
        self.protocols = protocols
    }

    static func decode(_ node: ConfigNode) throws(ConfigError) -> ListenerSettings {
        var map = try node.mapping()
        let addressNode = try map.required("address")
        let text = try addressNode.string()
        guard let address = SocketAddressSettings.parse(text) else {
            throw addressNode.error("'\(text)' is not a numeric address and port; write e.g. 0.0.0.0:8080 or [::]:8080")
        }
        let proxyProtocol = try map.optional("proxy_protocol")?.bool() ?? false
        let tls = try map.optional("tls").map { (n) throws(ConfigError) in try TLSSettings.decode(n) }
        // Under TLS both by default (ALPN decides); in cleartext HTTP/2 only when asked for.
        var protocols: [ApplicationProtocol] = tls != nil ? [.h2, .http11] : [.http11]
        if let n = map.optional("protocols") {
            protocols = []
            for element in try n.sequence() {
                let name = try element.string()
                guard let value = ApplicationProtocol(rawValue: name) else {
                    throw element.error("'\(name)' is not a protocol; write http/1.1 or h2")
                }
                guard !protocols.contains(value) else { throw element.error("'\(name)' is listed twice") }
                protocols.append(value)
            }
            guard !protocols.isEmpty else { throw n.error("at least one protocol is needed") }
        }
        if proxyProtocol, tls != nil {
            throw node.error("proxy_protocol together with tls is not supported yet: the PROXY header would have to be read before the handshake; terminate TLS here without proxy_protocol, or keep proxy_protocol on a cleartext listener")
        }
        try map.finish()
        return ListenerSettings(address: address, proxyProtocol: proxyProtocol, tls: tls, protocols: protocols)
    }
}
