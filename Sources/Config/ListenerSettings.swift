/// One socket the proxy accepts on (`listeners[]`).
public struct ListenerSettings: Sendable, Equatable {
    public var address: SocketAddressSettings
    /// Expect a PROXY protocol (v1 or v2) header first on every connection.
    public var proxyProtocol: Bool

    public init(address: SocketAddressSettings, proxyProtocol: Bool = false) {
        self.address = address
        self.proxyProtocol = proxyProtocol
    }

    static func decode(_ node: ConfigNode) throws(ConfigError) -> ListenerSettings {
        var map = try node.mapping()
        let addressNode = try map.required("address")
        let text = try addressNode.string()
        guard let address = SocketAddressSettings.parse(text) else {
            throw addressNode.error("'\(text)' is not a numeric address and port; write e.g. 0.0.0.0:8080 or [::]:8080")
        }
        let proxyProtocol = try map.optional("proxy_protocol")?.bool() ?? false
        try map.finish()
        return ListenerSettings(address: address, proxyProtocol: proxyProtocol)
    }
}
