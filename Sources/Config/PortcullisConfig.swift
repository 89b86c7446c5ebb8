import Yams
#if canImport(Glibc)
import Glibc
#endif

/// Everything one configuration file says, as validated plain values.
///
/// Layers compile their own fast runtime form from these (a trie, a key set); nothing here knows
/// a runtime type.
public struct PortcullisConfig: Sendable, Equatable {
    /// Ingress listeners; empty only in a config that holds egress alone.
    public var listeners: [ListenerSettings]
    /// Where admitted requests go; nil exactly when there are no ingress listeners.
    public var upstream: UpstreamSettings?
    /// The calling side; nil: no egress listener.
    public var egress: EgressSettings?
    /// Worker threads (one event loop each); nil means one per core.
    public var workers: Int?
    public var limits: LimitsSettings
    public var timeouts: TimeoutSettings
    public var log: LogSettings
    /// Who the client is; nil: always the TCP peer.
    public var clientIP: ClientIPSettings?
    /// Network rules; nil: no network rule applies.
    public var network: NetworkSettings?
    /// Named sets of prefixes the network rules use (`ip_sets`), in file order; each is named
    /// by at least one rule.
    public var ipSets: [IPSetSettings] = []
    /// A path answered by Portcullis itself (never forwarded): 200 when ready, 503 until every
    /// issuer's first key set has loaded. Nil: no such path.
    public var readinessPath: String?
    /// Bearer-token requirement; nil when the file has no `auth` section.
    public var auth: AuthSettings?
    /// Per-path requirements (`routes`), in file order: the first match replaces
    /// `auth.authorization` for its request; a path no route matches keeps it.
    public var routes: [RouteSettings] = []
    /// Client certificates as an identity; nil: a verified certificate is forwarded but not required
    /// to carry any particular identity.
    public var clientCertificate: ClientCertificateSettings?
    /// The admin listener (health, readiness, metrics, config); nil: none.
    public var admin: AdminSettings?
    /// Named sources of tokens for outgoing calls (`token_sources`), in file order.
    public var tokenSources: [TokenSourceSettings] = []

    public init(listeners: [ListenerSettings], upstream: UpstreamSettings?, workers: Int? = nil,
                limits: LimitsSettings = .init(), timeouts: TimeoutSettings = .init(), log: LogSettings = .init()) {
        self.listeners = listeners
        self.upstream = upstream
        self.workers = workers
        self.limits = limits
        self.timeouts = timeouts
        self.log = log
        self.auth = nil
        self.clientIP = nil
        self.network = nil
        self.readinessPath = nil
        self.clientCertificate = nil
        self.egress = nil
    }

    /// Reads and validates the file at `path`.
    public static func load(path: String) throws(ConfigError) -> PortcullisConfig {
        let text: String
        do {
            text = try readFile(path)
        } catch {
            throw ConfigError(key: "", line: nil, reason: "cannot read \(path): \(error.reason)")
        }
        return try parse(yaml: text)
    }

    /// Validates YAML text; every failure names the key (and line) that is wrong.
    public static func parse(yaml: String) throws(ConfigError) -> PortcullisConfig {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw ConfigError(key: "", line: nil, reason: "the file is empty; it needs at least 'listeners' and 'upstream'")
            }
            root = node
        } catch let error as ConfigError {
            throw error
        } catch let error as YamlError {
            throw yamlSyntaxError(error)
        } catch {
            throw ConfigError(key: "", line: nil, reason: "not valid YAML: \(error)")
        }
        var map = try ConfigNode(node: root, path: "").mapping()

        // Ingress (listeners and upstream), egress, or both: a sidecar may only call out.
        let egress = try map.optional("egress").map { (n) throws(ConfigError) in try EgressSettings.decode(n) }
        var listeners: [ListenerSettings] = []
        var upstream: UpstreamSettings?
        if egress == nil || map.has("listeners") || map.has("upstream") {
            let listenerNode = try map.required("listeners")
            for element in try listenerNode.sequence() { listeners.append(try ListenerSettings.decode(element)) }
            guard !listeners.isEmpty else { throw listenerNode.error("at least one listener is needed") }
            upstream = try UpstreamSettings.decode(try map.required("upstream"))
        }

        var config = PortcullisConfig(listeners: listeners, upstream: upstream)
        config.egress = egress
        // With SO_REUSEPORT two sockets on one address share its connections: an app's calls
        // out would land on the ingress chain and callers from outside on the egress one.
        for (index, address) in (egress?.listeners ?? []).enumerated() where address.port != 0 {
            if let clash = listeners.first(where: { AdminSettings.overlaps($0.address, address) }) {
                throw ConfigError(key: "egress.listeners[\(index)].address", line: nil,
                                  reason: "'\(address)' overlaps the ingress listener \(clash.address); egress needs a port of its own")
            }
        }
        if let n = map.optional("workers") {
            if case .scalar(let s) = n.node, s.string == "auto" {
                config.workers = nil
            } else {
                config.workers = try n.int(in: 1...256)
            }
        }
        if let n = map.optional("limits") { config.limits = try LimitsSettings.decode(n) }
        if let n = map.optional("timeouts") { config.timeouts = try TimeoutSettings.decode(n) }
        if let n = map.optional("log") { config.log = try LogSettings.decode(n) }
        if let n = map.optional("client_ip") { config.clientIP = try ClientIPSettings.decode(n) }
        if let n = map.optional("network") { config.network = try NetworkSettings.decode(n) }
        if let n = map.optional("ip_sets") { config.ipSets = try IPSetSettings.decodeAll(n) }
        try config.checkIPSetNames()
        if let n = map.optional("auth") { config.auth = try AuthSettings.decode(n) }
        if let n = map.optional("routes") {
            guard !config.listeners.isEmpty else {
                throw n.error("routes apply to requests on ingress listeners, and this config has none")
            }
            config.routes = try RouteSettings.decodeAll(n)
            // A requirement is checked against a token, and only an auth section says whose.
            if config.auth == nil, let index = config.routes.firstIndex(where: { $0.requirement != nil }) {
                throw ConfigError(key: "routes[\(index)].require", line: nil,
                                  reason: "a route's requirement is checked against a bearer token; add an auth section (issuers) or make the route auth: none")
            }
        }
        if let n = map.optional("client_certificate") {
            let settings = try ClientCertificateSettings.decode(n)
            guard config.listeners.contains(where: { $0.tls?.clientCertificates != nil }) else {
                throw n.error("no listener asks for client certificates; add tls.client_certificates to a listener")
            }
            config.clientCertificate = settings
        }
        if let n = map.optional("token_sources") { config.tokenSources = try TokenSourceSettings.decodeAll(n) }
        // A route whose token comes from nowhere would 503 every call: say so now.
        for (index, route) in (config.egress?.routes ?? []).enumerated() {
            guard let token = route.token, !config.tokenSources.contains(where: { $0.name == token.source }) else { continue }
            let known = config.tokenSources.map(\.name)
            throw ConfigError(key: "egress.routes[\(index)].token.source", line: nil,
                              reason: "no token source named '\(token.source)'; " + (known.isEmpty
                                  ? "add it under token_sources" : "configured: " + known.joined(separator: ", ")))
        }
        if let n = map.optional("admin") {
            let traffic = config.listeners + (config.egress?.listeners ?? []).map { ListenerSettings(address: $0) }
            config.admin = try AdminSettings.decode(n, listeners: traffic)
        }
        if let n = map.optional("readiness_path") {
            let path = try n.string()
            guard path.hasPrefix("/"), !path.contains("?"), !path.contains("*") else {
                throw n.error("'\(path)' is not an absolute path such as /.portcullis/ready")
            }
            config.readinessPath = path
        }
        try map.finish()
        return config
    }

    /// Every set a rule names exists, and every set is named by a rule: a set no rule uses is
    /// almost always a typo on one side or the other.
    func checkIPSetNames() throws(ConfigError) {
        let known = ipSets.map(\.name)
        var used: Set<String> = []
        for rule in network?.rules ?? [] {
            for reference in rule.ipSets {
                guard known.contains(reference.value) else {
                    throw reference.error("no ip set named '\(reference.value)'; " + (known.isEmpty
                        ? "define it under ip_sets" : "configured: " + known.joined(separator: ", ")))
                }
                used.insert(reference.value)
            }
        }
        if let unused = ipSets.first(where: { !used.contains($0.name) }) {
            throw unused.origin.error("ip set '\(unused.name)' is not used by any network rule; name it in a rule's ip_sets or remove it")
        }
    }

    static func yamlSyntaxError(_ error: YamlError) -> ConfigError {
        switch error {
        case .duplicatedKeysInMapping(let duplicates, let context):
            return ConfigError(key: duplicates.sorted().joined(separator: ", "), line: context.mark.line,
                               reason: "the key appears twice in the mapping that starts on this line")
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
             .composer(_, let problem, let mark, _):
            return ConfigError(key: "", line: mark.line, reason: "not valid YAML: \(problem)")
        default:
            return ConfigError(key: "", line: nil, reason: "not valid YAML: \(error)")
        }
    }
}

/// Why a file could not be read, for a person (`No such file or directory`).
package struct FileReadError: Error { package let reason: String }

extension PortcullisConfig {
    /// The config file's bytes (at most 4 MiB), for a reload to compare and then parse.
    public static func readBytes(path: String) throws(ConfigError) -> [UInt8] {
        do {
            return try readFileBytes(path)
        } catch {
            throw ConfigError(key: "", line: nil, reason: "cannot read \(path): \(error.reason)")
        }
    }
}

/// Reads a whole small file with read(2); Config stays free of Foundation.
func readFile(_ path: String) throws(FileReadError) -> String {
    String(decoding: try readFileBytes(path), as: UTF8.self)
}

/// A whole file with read(2), refused past `limit` bytes; for the files layers read after
/// parsing (the IP-set loader's, up to 16 MiB, re-read at every refresh).
package func readFileBytes(_ path: String, limit: Int = 4 << 20) throws(FileReadError) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw FileReadError(reason: String(cString: strerror(errno))) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16_384)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw FileReadError(reason: String(cString: strerror(errno)))
        }
        if n == 0 { break }
        bytes += chunk[0..<n]
        if bytes.count > limit { throw FileReadError(reason: "the file is larger than \(limit >> 20) MiB") }
    }
    return bytes
}
