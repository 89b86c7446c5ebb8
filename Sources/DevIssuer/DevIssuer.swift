public import Config
public import EventLoop
import CShims
import Tokens
import Transport
#if canImport(Glibc)
import Glibc
#endif

/// A local OpenID Connect provider shaped like Microsoft Entra ID, for laptops, tests and the
/// demo (`portcullis dev-issuer`); never for production.
///
/// It serves Entra's paths: discovery (`/{tenant}/v2.0/.well-known/openid-configuration` and the
/// v1.0 form), the JWKS, the token endpoints (`/{tenant}/oauth2/v2.0/token`, and v1.0's
/// `/{tenant}/oauth2/token`) for the client credentials grant with a client secret (form or
/// HTTP Basic) or a client assertion, optionally App Service's managed-identity protocol at
/// `/msi/token`, and `POST /admin/rotate` from loopback. Errors are Entra's (`AADSTS…`).
///
/// ```swift
/// let issuer = try DevIssuer(settings: settings)   // reads every file, binds: errors before serving
/// try issuer.start()                               // its own thread and event loop
/// issuer.rotateKeys()                              // from any thread (SIGHUP in the CLI)
/// issuer.stop()
/// ```
public final class DevIssuer: @unchecked Sendable {
    // Unchecked: `connections`, `nextSerial` and every connection are touched only by the
    // issuer's thread between start() and the join in stop(), and by the caller before start()
    // or after that join; what other threads share (the ServerLoop, the key ring, the counter)
    // is Sendable, and the rest is immutable after init.

    /// Why the issuer cannot start, or a rotation failed: a stable code and a reason for a person.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        /// `config` (a file or setting; the CLI exits 2), `bind` (the address; exit 1), or
        /// `rotation` (no new key could be made; the current one stays).
        public let code: String
        public let reason: String
        public var description: String { reason }
    }

    /// The address actually bound (the kernel's port when asked for port 0).
    public var address: SocketAddress { server.address }
    /// Scheme, host and port as clients reach the issuer, without a trailing slash.
    public let baseURL: String
    public let tenantID: String
    let routes: IssuerRoutes
    let keyRing: KeyRing
    private let server: ServerLoop
    var loop: EventLoop { server.loop }
    var listenFD: Int32 { server.listenFD }
    let tls: ServerTLS?
    let idleMillis: Int64 = 30_000
    let maxConnections = 256
    var connections: [Int32: IssuerConnection] = [:]
    private var nextSerial: UInt64 = 0
    private let tokenRequestCount = IssuerRoutes.Counter()

    /// Reads every file the settings name (signing key, client certificates, the managed
    /// identity's secret, TLS material), then binds and listens, so every problem is reported
    /// before anything is served. Serves nothing until ``start()``.
    public init(settings: DevIssuerSettings) throws(Failure) {
        tenantID = settings.tenantID
        let directory: Directory
        let first: SigningKey
        do {
            directory = try Directory(settings)
            first = try Self.firstKey(settings.signingKey)
            tls = try settings.tls.map { (tls) throws(ConfigError) in try ServerTLS(tls, protocols: [.http11]) }
        } catch {
            throw Failure(code: "config", reason: error.description)
        }
        keyRing = KeyRing(first: first)
        guard let wanted = SocketAddress(host: settings.listen.host, port: settings.listen.port) else {
            throw Failure(code: "config", reason: "listen: '\(settings.listen)' is not an address")
        }
        do {
            server = try ServerLoop(address: wanted)
        } catch {
            throw Failure(code: "bind", reason: "listen \(settings.listen): \(error)")
        }
        let scheme = settings.tls == nil ? "http" : "https"
        baseURL = settings.baseURL ?? "\(scheme)://\(server.address)"
        let service = TokenService(directory: directory, keys: keyRing, baseURL: baseURL)
        var managedIdentity: ManagedIdentityEndpoint?
        if let mi = settings.managedIdentity, let client = directory.client(id: mi.client), let secret = directory.identityHeader {
            managedIdentity = ManagedIdentityEndpoint(service: service, client: client, headerSecret: Array(secret.utf8))
        }
        routes = IssuerRoutes(service: service, managedIdentity: managedIdentity, counter: tokenRequestCount)
        do {
            try loop.register(listenFD, Acceptor(server: self))
        } catch {
            throw Failure(code: "bind", reason: "listen \(settings.listen): \(error)")
        }
    }

    private static func firstKey(_ file: LocatedValue?) throws(ConfigError) -> SigningKey {
        guard let file else {
            do {
                return try SigningKey.generateRSA()
            } catch {
                throw ConfigError(key: "signing_key", line: nil, reason: "no key given and none could be generated: \(error)")
            }
        }
        return try SigningKey.load(file, type: .rsa, because: "the dev issuer signs with RS256, so the key must be RSA")
    }

    // MARK: What clients and validators are told

    /// The v2.0 issuer (`iss` of v2 tokens): `{base}/{tenant}/v2.0`.
    public var v2Issuer: String { AccessTokenClaims.v2Issuer(base: baseURL, tenant: tenantID) }
    /// The v1.0 issuer (`iss` of v1 tokens): `https://sts.windows.net/{tenant}/`, as Entra's.
    public var v1Issuer: String { AccessTokenClaims.v1Issuer(tenant: tenantID) }
    /// The authority clients are configured with: `{base}/{tenant}`.
    public var authority: String { "\(baseURL)/\(tenantID)" }
    /// The discovery document of the v2.0 issuer, or of the v1.0 issuer.
    public func discoveryURL(v2: Bool = true) -> String {
        v2 ? "\(authority)/v2.0/.well-known/openid-configuration" : "\(authority)/.well-known/openid-configuration"
    }
    /// The v2.0 token endpoint.
    public var tokenEndpoint: String { "\(authority)/oauth2/v2.0/token" }
    /// The JWKS (the same keys for both issuers).
    public var jwksURL: String { "\(authority)/discovery/v2.0/keys" }
    /// The App Service managed-identity endpoint (`IDENTITY_ENDPOINT`).
    public var managedIdentityEndpoint: String { "\(baseURL)/msi/token" }

    /// Key ids in the JWKS, the signing key first.
    public var signingKeyIDs: [String] { keyRing.kids }
    /// Token requests answered so far (success or refusal, every token endpoint).
    public var tokenRequests: Int { tokenRequestCount.value }

    // MARK: Running

    /// Starts the issuer's thread. Call once.
    public func start() throws(SystemError) {
        try server.start(keeping: self)
    }

    /// Stops the thread and waits for it, then closes the listener and every connection. Safe
    /// to call more than once, and without ``start()``.
    public func stop() {
        server.stop { for connection in Array(connections.values) { connection.close() } }
    }

    /// Makes a new signing key current; the JWKS then lists it and the one before. From any
    /// thread but the issuer's own (a key is generated here, which takes a moment).
    @discardableResult
    public func rotateKeys() throws(Failure) -> (current: String, previous: String) {
        do {
            return try keyRing.rotate()
        } catch {
            throw Failure(code: "rotation", reason: "no new key: \(error)")
        }
    }

    /// `POST /admin/rotate`: the key is generated on a thread of its own, never on the loop,
    /// and the answer goes to the connection that asked, if it is still there.
    func rotateInBackground(replyingTo fd: Int32, serial: UInt64) {
        let started = try? Sys.startThread { [self] in
            let response: IssuerResponse
            do {
                let (current, previous) = try rotateKeys()
                response = .json(200, .object([("kid", .string(current)), ("previous", .string(previous))]))
            } catch {
                response = .text(500, "rotation failed: \(error)\n")
            }
            // Weakly: an issuer stopped meanwhile must not be kept alive by a task its loop
            // will never run.
            loop.execute { [weak self] in
                guard let self, let connection = connections[fd], connection.serial == serial else { return }
                connection.deliver(response)
            }
        }
        // A thread that could not start: answer at once rather than leave the client waiting.
        if let started {
            pthread_detach(started)
        } else {
            connections[fd]?.deliver(.text(500, "rotation failed: no thread\n"))
        }
    }

    /// Accepts until the backlog is empty; over the connection limit, closes at once.
    final class Acceptor: EventHandler {
        unowned let server: DevIssuer
        var peer = sockaddr_storage()

        init(server: DevIssuer) {
            self.server = server
        }

        func handleEvent(_ events: UInt32) {
            while let fd = try? Sys.accept(server.listenFD, &peer) {
                guard server.connections.count < server.maxConnections else {
                    Sys.close(fd)
                    continue
                }
                let transport: Transport
                if let tls = server.tls {
                    guard let session = try? tls.session(fd: fd) else {
                        Sys.close(fd)
                        continue
                    }
                    transport = .tls(session)
                } else {
                    transport = .plain(fd)
                }
                server.nextSerial += 1
                let connection = IssuerConnection(fd: fd, serial: server.nextSerial, server: server, transport: transport,
                                                  fromLoopback: Self.isLoopback(SocketAddress(storage: peer)))
                guard (try? server.loop.register(fd, connection)) != nil else {
                    Sys.close(fd)
                    continue
                }
                server.connections[fd] = connection
                connection.start()
            }
        }

        /// 127.0.0.0/8, ::1, or an IPv4-mapped 127.x.
        static func isLoopback(_ address: SocketAddress) -> Bool {
            address.withAddressBytes { bytes in
                if bytes.count == 4 { return bytes[0] == 127 }
                if bytes.dropLast().allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }
                return bytes.prefix(10).allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF && bytes[12] == 127
            }
        }
    }
}
