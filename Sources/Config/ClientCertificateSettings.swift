/// Client certificates as an identity (`client_certificate`): an admission step after the
/// network rules, for requests on listeners that ask for client certificates.
public struct ClientCertificateSettings: Sendable, Equatable {
    /// One identity a verified leaf may carry.
    public enum Identity: Sendable, Equatable, Hashable {
        /// A URI subject alternative name, e.g. a SPIFFE id.
        case uri(String)
        /// A DNS subject alternative name (compared case-insensitively).
        case dns(String)
        /// The subject's common name.
        case cn(String)

        /// Parses `uri:…`, `dns:…` or `cn:…`.
        public init?(_ text: String) {
            guard let colon = text.firstIndex(of: ":") else { return nil }
            let value = String(text[text.index(after: colon)...])
            guard !value.isEmpty else { return nil }
            switch text[..<colon] {
            case "uri": self = .uri(value)
            case "dns": self = .dns(value.lowercased())
            case "cn": self = .cn(value)
            default: return nil
            }
        }

        /// As written in the config and the access log.
        public var text: String {
            switch self {
            case .uri(let v): return "uri:\(v)"
            case .dns(let v): return "dns:\(v)"
            case .cn(let v): return "cn:\(v)"
            }
        }
    }

    /// A request on a listener with client certificates needs a verified leaf carrying one of
    /// these; empty: any verified certificate will do.
    public var allowed: [Identity] = []
    /// Where the verified leaf goes upstream (base64 DER, as App Service's X-ARR-ClientCert); the
    /// client's own copy of this header is always removed.
    public var forwardHeader = "x-arr-clientcert"

    public init(allowed: [Identity] = [], forwardHeader: String = "x-arr-clientcert") {
        self.allowed = allowed
        self.forwardHeader = forwardHeader
    }

    static func decode(_ node: ConfigNode) throws(ConfigError) -> ClientCertificateSettings {
        var map = try node.mapping()
        var settings = ClientCertificateSettings()
        if let n = map.optional("allowed") {
            for element in try n.sequence() {
                let text = try element.string()
                guard let identity = Identity(text) else {
                    throw element.error("'\(text)' is not an identity; write uri:spiffe://…, dns:name or cn:name")
                }
                settings.allowed.append(identity)
            }
        }
        if let n = map.optional("forward_header") {
            let name = try n.string()
            guard !name.isEmpty, name.utf8.allSatisfy({ isTokenByte($0) }) else {
                throw n.error("'\(name)' is not a header name")
            }
            settings.forwardHeader = name.lowercased()
        }
        try map.finish()
        return settings
    }
}

/// RFC 9110 tchar.
func isTokenByte(_ b: UInt8) -> Bool {
    switch b {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        return true
    default:
        return "!#$%&'*+-.^_`|~".utf8.contains(b)
    }
}
