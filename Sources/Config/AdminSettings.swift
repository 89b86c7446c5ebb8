/// The admin listener (`admin`): health, readiness, metrics and the effective config over plain
/// HTTP, on an address of its own. Absent section: no admin listener.
public struct AdminSettings: Sendable, Equatable {
    /// Where the admin listener binds; usually loopback (`127.0.0.1:9901`). Port 0 picks a free one.
    public var address: SocketAddressSettings

    public init(address: SocketAddressSettings) {
        self.address = address
    }

    static func decode(_ node: ConfigNode, listeners: [ListenerSettings]) throws(ConfigError) -> AdminSettings {
        var map = try node.mapping()
        let addressNode = try map.required("address")
        let text = try addressNode.string()
        guard let address = SocketAddressSettings.parse(text) else {
            throw addressNode.error("'\(text)' is not a numeric address and port; write e.g. 127.0.0.1:9901 or [::1]:9901")
        }
        // Admin requests must never share a socket with traffic: they would skip the rules there.
        if address.port != 0, let clash = listeners.first(where: { Self.overlaps($0.address, address) }) {
            throw addressNode.error("'\(text)' overlaps the traffic listener \(clash.address); the admin listener needs a port of its own")
        }
        try map.finish()
        return AdminSettings(address: address)
    }

    /// Same port and the same host, or either on the wildcard of the same family.
    static func overlaps(_ a: SocketAddressSettings, _ b: SocketAddressSettings) -> Bool {
        guard a.port == b.port else { return false }
        let wildcards: Set<String> = ["0.0.0.0", "::"]
        return a.host == b.host || wildcards.contains(a.host) || wildcards.contains(b.host)
    }
}
