public import Config
import Synchronization
import NetworkPolicy
import Tokens
import Transport
public import KeyFetcher
#if canImport(Glibc)
import Glibc
#endif

/// Compiles the config's rules once (errors name the key, before any socket opens) and builds
/// each worker's filter chain from the compiled, immutable pieces.
public struct PipelineFactory: Sendable {
    let resolver: ClientIPResolver?
    let policy: NetworkPolicy?
    let auth: AuthSettings?
    let validator: TokenValidator?
    let keys: KeySnapshot?
    /// Issuers whose keys come over HTTP(S); fetched by a ``KeyFetcher`` the caller starts.
    public let fetchedSources: [KeyFetcher.Source]
    /// False until every fetched issuer has its first key set.
    public let readiness: Readiness
    let readinessPath: String?
    let clientCertificate: ClientCertificateSettings?
    /// Each listener's TLS contexts (nil for cleartext), in listener order.
    let listenerTLS: [ServerTLS?]
    /// TLS to an `https://` upstream (its CA and client certificate read here, at startup).
    let upstreamTLS: ClientTLS?

    /// Files named by the config (JWKS, HMAC secrets) are read here, at startup, off any loop.
    public init(config: PortcullisConfig) throws(ConfigError) {
        readinessPath = config.readinessPath
        var tls: [ServerTLS?] = []
        for listener in config.listeners {
            tls.append(try listener.tls.map { (settings) throws(ConfigError) in try ServerTLS(settings, protocols: listener.protocols) })
        }
        listenerTLS = tls
        upstreamTLS = config.upstream.secure
            ? try ClientTLS(config.upstream, protocolName: config.upstream.protocolVersion) : nil
        clientCertificate = config.clientCertificate
        resolver = try config.clientIP.map { settings throws(ConfigError) in try ClientIPResolver(settings) }
        policy = try config.network.map { settings throws(ConfigError) in try NetworkPolicy(settings) }
        auth = config.auth
        guard let auth = config.auth else {
            validator = nil
            keys = nil
            fetchedSources = []
            readiness = Readiness(ready: true)
            return
        }
        var fetched: [KeyFetcher.Source] = []
        var sets: [String: KeySet] = [:]
        var secrets: [String: [UInt8]] = [:]
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
                fetched.append(KeyFetcher.Source(issuer: issuer.issuer, location: issuer.keySource))
            }
            if let path = issuer.hmacSecretFile {
                let secret = try Self.read(path, key: key + ".hmac_secret_file")
                guard secret.count >= 32 else {
                    throw ConfigError(key: key + ".hmac_secret_file", line: nil, reason: "an HMAC secret must be at least 32 bytes")
                }
                secrets[issuer.issuer] = secret
            }
        }
        validator = TokenValidator(auth, secrets: secrets)
        keys = KeySnapshot(sets: sets)
        fetchedSources = fetched
        readiness = Readiness(ready: fetched.isEmpty)
    }

    /// A fetcher for the HTTP(S) key sources that publishes into `server`; nil when there are none.
    public func makeKeyFetcher(config: PortcullisConfig, server: ProxyServer) -> KeyFetcher? {
        guard !fetchedSources.isEmpty, let auth = config.auth, let keys, let validator else { return nil }
        let current = SnapshotHolder(keys)
        let readiness = readiness
        let expected = Set(fetchedSources.map(\.issuer))
        return KeyFetcher(sources: fetchedSources, settings: auth.keys) { issuer, set in
            let snapshot = current.replacing(issuer, with: set)
            validator.cache.removeEntries(validatedByKeysOtherThan: snapshot.keyIDs)
            server.publish(snapshot)
            if expected.isSubset(of: snapshot.sets.keys) { readiness.markReady() }
        }
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
    public func make(worker: Int, refresher: (@Sendable (String) -> Void)? = nil) -> RequestPipeline {
        var filters: [any RequestFilter] = []
        if let readinessPath {
            filters.append(ReadinessFilter(path: readinessPath, readiness: readiness))
        }
        if resolver != nil || policy != nil {
            filters.append(NetworkFilter(resolver: resolver, policy: policy))
        }
        if let clientCertificate {
            filters.append(ClientCertificateFilter(clientCertificate))
        }
        if let validator, let keys, let auth {
            filters.append(TokenFilter(validator: validator, keys: keys, settings: auth, refresher: refresher))
        }
        return RequestPipeline(filters: filters)
    }
}

/// The latest key sets of all issuers; each fetch result makes a new immutable snapshot.
final class SnapshotHolder: Sendable {
    private let current: Mutex<KeySnapshot>

    init(_ initial: KeySnapshot) {
        current = Mutex(initial)
    }

    func replacing(_ issuer: String, with set: KeySet) -> KeySnapshot {
        current.withLock { snapshot in
            var sets = snapshot.sets
            sets[issuer] = set
            snapshot = KeySnapshot(sets: sets)
            return snapshot
        }
    }
}

/// Lets workers ask the key fetcher for an early refresh although the fetcher is created after
/// them (it publishes into the server the workers belong to).
public final class FetcherRelay: Sendable {
    private let fetcher = Mutex<KeyFetcher?>(nil)

    public init() {}

    public func attach(_ keyFetcher: KeyFetcher) {
        fetcher.withLock { $0 = keyFetcher }
    }

    public func request(_ issuer: String) {
        fetcher.withLock { $0 }?.requestRefresh(issuer: issuer)
    }
}
