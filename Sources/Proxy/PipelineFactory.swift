public import Config
import NetworkPolicy
import Tokens
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

    /// Files named by the config (JWKS, HMAC secrets) are read here, at startup, off any loop.
    public init(config: PortcullisConfig) throws(ConfigError) {
        resolver = try config.clientIP.map { settings throws(ConfigError) in try ClientIPResolver(settings) }
        policy = try config.network.map { settings throws(ConfigError) in try NetworkPolicy(settings) }
        auth = config.auth
        guard let auth = config.auth else {
            validator = nil
            keys = nil
            return
        }
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
                throw ConfigError(key: key, line: nil, reason: "fetching keys over HTTP(S) (jwks_url, discovery_url) is not in this build yet; use jwks_file")
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
    public func make(worker: Int) -> RequestPipeline {
        var filters: [any RequestFilter] = []
        if resolver != nil || policy != nil {
            filters.append(NetworkFilter(resolver: resolver, policy: policy))
        }
        if let validator, let keys, let auth {
            filters.append(TokenFilter(validator: validator, keys: keys, settings: auth))
        }
        return RequestPipeline(filters: filters)
    }
}
