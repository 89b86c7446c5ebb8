public import Config
import EventLoop
import Synchronization
import NetworkPolicy
import Tokens
import Transport
public import KeyFetcher
public import IPSets
#if canImport(Glibc)
import Glibc
#endif

/// Compiles the config's rules once (errors name the key, before any socket opens) and builds
/// each worker's filter chain from the compiled, immutable pieces. A reload compiles a new
/// factory from the new file, off the loops, reusing what the change did not touch.
public struct PipelineFactory: Sendable {
    let resolver: ClientIPResolver?
    /// The network rules with the IP sets loaded so far; each load recompiles them.
    let network: NetworkRules?
    let networkDryRun: Bool
    let auth: AuthSettings?
    /// Excluded paths, routes and the default requirement, compiled once (with `auth`).
    let routes: RouteTable?
    let validator: TokenValidator?
    /// Every issuer's current keys: read from files here, fetched ones published into it.
    let keys: SnapshotHolder?
    let secrets: [String: [UInt8]]
    /// Fetched keys older than this (seconds) no longer count (`auth.keys.max_stale`).
    let maxStale: Double
    /// Issuers whose keys come over HTTP(S); fetched by the server's ``KeyFetcher``.
    public let fetchedSources: [KeyFetcher.Source]
    /// False until every fetched issuer has its first key set.
    public let readiness: Readiness
    let readinessPath: String?
    let clientCertificate: ClientCertificateSettings?
    /// Each listener's TLS contexts (nil for cleartext), in listener order.
    let listenerTLS: [ServerTLS?]
    /// Where requests go: the ingress upstream first (when there is one), then each egress
    /// route's upstream, resolved and with TLS contexts built here, at load.
    let targets: [UpstreamTarget]
    let hasIngress: Bool
    let egressRoutes: [EgressFilter.Route]
    /// Tokens for the egress routes; kept across reloads.
    let outbound: (any OutboundTokens)?

    /// Files named by the config (certificates, JWKS, HMAC secrets) are read here, off any loop.
    /// With `previous` (a reload): an issuer whose key source is unchanged keeps its fetched
    /// keys, and when the token rules and secrets are unchanged the validator (and with it the
    /// token cache) is kept; an IP set whose source is unchanged keeps its prefixes; the
    /// readiness object stays the same one, re-evaluated. `loadIPSet` loads the sets that have
    /// nothing yet (a reload's new ones); without it they wait for the loader.
    public init(config: PortcullisConfig, previous: PipelineFactory? = nil,
                outbound: (any OutboundTokens)? = nil,
                loadIPSet: ((IPSetSource) -> Result<LoadedIPSet, IPSetError>)? = nil) throws(ConfigError) {
        readinessPath = config.readinessPath
        var tls: [ServerTLS?] = []
        for listener in config.listeners {
            tls.append(try listener.tls.map { (settings) throws(ConfigError) in try ServerTLS(settings, protocols: listener.protocols) })
        }
        listenerTLS = tls
        var targets: [UpstreamTarget] = []
        if let upstream = config.upstream {
            targets.append(try Self.target(upstream, key: "upstream.url"))
        }
        hasIngress = config.upstream != nil
        var egress: [EgressFilter.Route] = []
        for (index, route) in (config.egress?.routes ?? []).enumerated() {
            egress.append(EgressFilter.Route(host: Array(route.host.utf8), target: targets.count,
                                             source: route.token?.source, scope: route.token?.scope ?? ""))
            targets.append(try Self.target(route.upstream, key: "egress.routes[\(index)].upstream"))
        }
        self.targets = targets
        egressRoutes = egress
        self.outbound = outbound ?? previous?.outbound
        clientCertificate = config.clientCertificate
        resolver = try config.clientIP.map { settings throws(ConfigError) in try ClientIPResolver(settings) }
        networkDryRun = config.network?.mode == .dryRun
        auth = config.auth
        routes = config.auth.map { RouteTable(routes: config.routes, excludedPaths: $0.excludedPaths, authorization: $0.authorization) }
        let readiness = previous?.readiness ?? Readiness(ready: true)
        self.readiness = readiness
        // As for issuers: a CA file that cannot be read is a config error now, not a failed fetch later.
        for set in config.ipSets { try set.ca?.requireReadable("the CA bundle") }
        network = try config.network.map { (settings) throws(ConfigError) in
            try NetworkRules(settings, sets: config.ipSets, previous: previous?.network, readiness: readiness, load: loadIPSet)
        }
        guard let auth = config.auth else {
            validator = nil
            keys = nil
            secrets = [:]
            fetchedSources = []
            maxStale = 0
            readiness.set(true)
            readiness.setUnloadedIPSets(network?.unloaded ?? [])
            return
        }
        var fetched: [KeyFetcher.Source] = []
        var sets: [String: KeySet] = [:]
        var secrets: [String: [UInt8]] = [:]
        let previousKeys = previous?.keys?.current
        var fetchedAt: [String: Double] = [:]
        for (index, issuer) in auth.issuers.enumerated() {
            let key = "auth.issuers[\(index)]"
            switch issuer.keySource {
            case .jwksFile(let path):
                let bytes = try Self.read(path, key: key + ".jwks_file")
                do {
                    sets[issuer.issuer] = try KeySet.parse(jwks: bytes)
                } catch {
                    throw ConfigError(key: key + ".jwks_file", line: nil, reason: "\(path): \(error)")
                }
            case .jwksURL, .discovery:
                // A CA file that cannot be read is a config error now, not a failed fetch later.
                try issuer.ca?.requireReadable("the CA bundle")
                let source = KeyFetcher.Source(issuer: issuer.issuer, location: issuer.keySource, caFile: issuer.ca?.value)
                fetched.append(source)
                if previous?.fetchedSources.contains(source) == true, let kept = previousKeys?.sets[issuer.issuer] {
                    sets[issuer.issuer] = kept
                    fetchedAt[issuer.issuer] = previousKeys?.fetchedAt[issuer.issuer]
                } else if let dir = auth.keys.stateDir, let loaded = KeyStateFile.read(dir: dir, issuer: issuer.issuer) {
                    // The last fetch, kept on disk: serve at once, with or without the provider.
                    sets[issuer.issuer] = loaded.keys
                    fetchedAt[issuer.issuer] = loaded.fetchedAt
                } else if let bootstrap = issuer.bootstrapJWKS {
                    let bytes = try Self.read(bootstrap.value, key: bootstrap.key)
                    do {
                        sets[issuer.issuer] = try KeySet.parse(jwks: bytes)
                    } catch {
                        throw ConfigError(key: bootstrap.key, line: bootstrap.line, reason: "\(bootstrap.value): \(error)")
                    }
                }
            }
            if let path = issuer.hmacSecretFile {
                let secret = try Self.read(path, key: key + ".hmac_secret_file")
                guard secret.count >= 32 else {
                    throw ConfigError(key: key + ".hmac_secret_file", line: nil, reason: "an HMAC secret must be at least 32 bytes")
                }
                secrets[issuer.issuer] = secret
            }
        }
        if let previous, let kept = previous.validator, previous.auth == auth, previous.secrets == secrets {
            validator = kept
        } else {
            validator = TokenValidator(auth, secrets: secrets)
        }
        self.secrets = secrets
        keys = SnapshotHolder(KeySnapshot(sets: sets, fetchedAt: fetchedAt))
        maxStale = Double(auth.keys.maxStale.components.seconds)
        fetchedSources = fetched
        // Last, once nothing can throw: a file refused halfway leaves readiness as it was.
        readiness.set(fetched.allSatisfy { sets[$0.issuer] != nil })
        readiness.setUnloadedIPSets(network?.unloaded ?? [])
    }

    /// Says again what this configuration has loaded, after a reload that compiled (and so
    /// re-evaluated readiness) was refused later, binding a listener.
    func reassertReadiness() {
        readiness.set(fetchedSources.allSatisfy { keys?.current.sets[$0.issuer] != nil })
        readiness.setUnloadedIPSets(network?.unloaded ?? [])
    }

    /// A fetched key set arrived: it joins the snapshot, cache entries of keys that are gone
    /// are dropped, and readiness is re-evaluated. Returns the snapshot for the workers; nil
    /// when the issuer is not (or no longer) one of this configuration's fetched issuers.
    func keysFetched(issuer: String, set: KeySet) -> KeySnapshot? {
        guard let keys, let validator, fetchedSources.contains(where: { $0.issuer == issuer }) else { return nil }
        let snapshot = keys.replacing(issuer, with: set)
        validator.cache.removeEntries(validatedByKeysOtherThan: snapshot.keyIDs)
        if fetchedSources.allSatisfy({ snapshot.sets[$0.issuer] != nil }) { readiness.set(true) }
        return snapshot
    }

    /// The IP sets the loader keeps fresh for this configuration.
    public var ipSetSources: [IPSetSource] { network?.sets.map(\.source) ?? [] }

    /// The sets that have prefixes (loaded now, or kept from the previous configuration).
    var loadedIPSetNames: Set<String> { Set(network?.sets.compactMap { $0.loaded == nil ? nil : $0.source.name } ?? []) }

    /// A set was loaded: the rules are recompiled (off the loops) when its prefixes changed;
    /// the new policy is returned for the workers.
    func ipSetLoaded(_ set: LoadedIPSet, from source: IPSetSource) -> NetworkPolicy? {
        network?.loaded(set, from: source)
    }

    func ipSetFailed(_ source: IPSetSource, reason: String) {
        network?.failed(source, reason: reason)
    }

    /// An upstream as the workers dial it: the host resolved once, here, and an https
    /// upstream's TLS context (CA, client certificate) built.
    static func target(_ upstream: UpstreamSettings, key: String) throws(ConfigError) -> UpstreamTarget {
        guard let address = SocketAddress.resolve(host: upstream.host, port: upstream.port) else {
            throw ConfigError(key: key, line: nil, reason: "cannot resolve host '\(upstream.host)'")
        }
        let host = upstream.host.contains(":") ? "[\(upstream.host)]" : upstream.host
        let defaultPort: UInt16 = upstream.secure ? 443 : 80
        let authority = upstream.port == defaultPort ? host : "\(host):\(upstream.port)"
        let tls = upstream.secure ? try ClientTLS(upstream, protocolName: upstream.protocolVersion) : nil
        return UpstreamTarget(address: address, authority: Array(authority.utf8), tls: tls, maxIdle: upstream.maxIdleConnections)
    }

    /// The egress chain: the route by host, then its token.
    func makeEgress() -> RequestPipeline {
        guard !egressRoutes.isEmpty else { return RequestPipeline(filters: []) }
        return RequestPipeline(filters: [EgressFilter(routes: egressRoutes, tokens: outbound)])
    }

    static func read(_ path: String, key: String) throws(ConfigError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ConfigError(key: key, line: nil, reason: "cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw ConfigError(key: key, line: nil, reason: "cannot read \(path)") }
            if n == 0 { break }
            bytes += chunk[0..<n]
            guard bytes.count <= 1 << 20 else { throw ConfigError(key: key, line: nil, reason: "\(path) is larger than 1 MiB") }
        }
        return bytes
    }

    /// The ordered chain: network (client IP, rules) → … → forward.
    public func make(worker: Int, refresher: (@Sendable (_ issuer: String, _ kid: String?) -> Void)? = nil) -> RequestPipeline {
        var filters: [any RequestFilter] = []
        if let readinessPath {
            filters.append(ReadinessFilter(path: readinessPath, readiness: readiness))
        }
        if resolver != nil || network != nil {
            filters.append(NetworkFilter(resolver: resolver, policy: network?.policy, dryRun: networkDryRun))
        }
        if let clientCertificate {
            filters.append(ClientCertificateFilter(clientCertificate))
        }
        if let validator, let keys, let auth, let routes {
            filters.append(TokenFilter(validator: validator, keys: keys.current, settings: auth, routes: routes, refresher: refresher))
        }
        return RequestPipeline(filters: filters)
    }
}

/// The latest key sets of all issuers; each fetch result makes a new immutable snapshot.
final class SnapshotHolder: Sendable {
    private let snapshot: Mutex<KeySnapshot>

    init(_ initial: KeySnapshot) {
        snapshot = Mutex(initial)
    }

    var current: KeySnapshot { snapshot.withLock { $0 } }

    func replacing(_ issuer: String, with set: KeySet) -> KeySnapshot {
        self.snapshot.withLock { snapshot in
            var sets = snapshot.sets
            sets[issuer] = set
            var fetchedAt = snapshot.fetchedAt
            fetchedAt[issuer] = Double(time(nil))
            snapshot = KeySnapshot(sets: sets, fetchedAt: fetchedAt)
            return snapshot
        }
    }
}

/// Lets workers ask the key fetcher for an early refresh although the fetcher is created after
/// them (it publishes into the server the workers belong to).
final class FetcherRelay: Sendable {
    private let fetcher = Mutex<KeyFetcher?>(nil)

    init() {}

    func attach(_ keyFetcher: KeyFetcher) {
        fetcher.withLock { $0 = keyFetcher }
    }

    func request(_ issuer: String, kid: String?) {
        fetcher.withLock { $0 }?.requestRefresh(issuer: issuer, kid: kid)
    }
}
