/// TLS on one listener (`listeners[].tls`): certificates picked by SNI, the lowest protocol
/// version, and optionally client certificates (mutual TLS).
///
/// Paths are kept with their keys: the files are read when the transport builds its contexts,
/// before any socket opens, and a bad file must still be reported by the key that names it.
public struct TLSSettings: Sendable, Equatable {
    public struct Certificate: Sendable, Equatable {
        /// PEM: the leaf first, then any intermediates.
        public var cert: LocatedValue
        /// PEM private key matching the leaf.
        public var key: LocatedValue
    }

    public enum Version: String, Sendable, Equatable {
        case tls12 = "1.2"
        case tls13 = "1.3"
    }

    public enum ClientCertificateMode: String, Sendable, Equatable {
        /// A handshake without a certificate fails.
        case require
        /// A client may present none; one that does not chain to the CA still fails.
        case optional
    }

    public struct ClientCertificates: Sendable, Equatable {
        public var mode: ClientCertificateMode
        /// PEM bundle of the CAs client certificates must chain to.
        public var ca: LocatedValue
    }

    /// In SNI order of preference; the first is the default for names no certificate matches.
    public var certificates: [Certificate]
    public var minVersion: Version = .tls12
    public var clientCertificates: ClientCertificates?

    static func decode(_ node: ConfigNode) throws(ConfigError) -> TLSSettings {
        var map = try node.mapping()
        let list = try map.required("certificates")
        var certificates: [Certificate] = []
        for element in try list.sequence() {
            var entry = try element.mapping()
            let cert = try entry.required("cert").located()
            let key = try entry.required("key").located()
            try entry.finish()
            certificates.append(Certificate(cert: cert, key: key))
        }
        guard !certificates.isEmpty else { throw list.error("at least one {cert, key} pair is needed") }
        var settings = TLSSettings(certificates: certificates)
        if let n = map.optional("min_version") {
            let text = try n.string()
            guard let version = Version(rawValue: text) else {
                throw n.error("'\(text)' is not a TLS version this proxy accepts; write \"1.2\" or \"1.3\" (older versions are refused)")
            }
            settings.minVersion = version
        }
        if let n = map.optional("client_certificates") {
            var client = try n.mapping()
            let modeNode = try client.required("mode")
            let modeText = try modeNode.string()
            guard let mode = ClientCertificateMode(rawValue: modeText) else {
                throw modeNode.error("'\(modeText)' is not a mode; write require or optional")
            }
            let ca = try client.required("ca").located()
            try client.finish()
            settings.clientCertificates = ClientCertificates(mode: mode, ca: ca)
        }
        try map.finish()
        return settings
    }
}

/// An application protocol a listener offers (ALPN under TLS).
public enum ApplicationProtocol: String, Sendable, Equatable {
    case http11 = "http/1.1"
    case h2 = "h2"
}

extension ConfigNode {
    func located() throws(ConfigError) -> LocatedValue {
        LocatedValue(value: try string(), key: path, line: line)
    }
}
