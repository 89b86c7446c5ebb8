import Config
import Foundation
import KeyFetcher
import Proxy
import TestSupport
import Testing
import Tokens

/// The identity provider down must not take traffic down: keys kept from the last fetch
/// (`state_dir`) or a bootstrap file let the sidecar serve and be ready at once; with neither,
/// a well-formed token is told "retry later" (503), not "invalid" (401).
@Suite("Keys that outlive the identity provider", .serialized)
struct KeyResilienceTests {
    final class Setup {
        let provider = TestHTTPServer()
        let backend: DemoBackendHandle
        let signer: SigningKey
        let directory: String
        let jwks: [UInt8]

        init() throws {
            backend = try DemoBackendHandle()
            signer = try AuthTests.key()
            jwks = Array(JSONValue.object([("keys", .array([signer.publicJWK(kid: "k1")]))]).serialized.utf8)
            provider.set("/keys", .init(body: jwks))
            directory = NSTemporaryDirectory() + "portcullis-keys-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }

        deinit {
            provider.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }

        func config(stateDir: Bool = true, bootstrap: String? = nil, extraKeys: String = "") throws -> PortcullisConfig {
            try PortcullisConfig.parse(yaml: """
            listeners: [{address: "127.0.0.1:0"}]
            upstream: {url: "http://127.0.0.1:\(backend.port)"}
            workers: 1
            log: {access: false}
            auth:
              issuers:
                - issuer: "\(AuthTests.issuer)"
                  jwks_url: "\(provider.url("/keys"))"
                  audiences: [api://service-b]
                  algorithms: [ES256]
            \(bootstrap.map { "      bootstrap_jwks: \($0)" } ?? "")
              keys: {fetch_timeout: 2s\(stateDir ? ", state_dir: \(directory)" : "")\(extraKeys)}
            """)
        }

        func token(issuer: String = AuthTests.issuer) throws -> String {
            let exp = Int(Date().timeIntervalSince1970) + 3600
            return try signer.mint(claims: "{\"iss\":\"\(issuer)\",\"aud\":\"api://service-b\",\"exp\":\(exp)}", kid: "k1")
        }

        /// Starts a proxy on `config`; returns it, whether it was ready at once, and how long
        /// starting the key fetcher took.
        func start(_ config: PortcullisConfig) throws -> (ProxyServer, Bool, Double) {
            let server = try ProxyServer(config: config, pipeline: try PipelineFactory(config: config))
            let begin = Date()
            let ready = server.startKeyFetcher()
            let took = Date().timeIntervalSince(begin)
            try server.start()
            return (server, ready, took)
        }
    }

    static func get(_ server: ProxyServer, token: String?) throws -> RawResponse {
        let auth = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        return try RawClient.exchange(port: server.boundAddresses[0].port,
                                      bytes: Array("GET / HTTP/1.1\r\nHost: a\r\n\(auth)Connection: close\r\n\r\n".utf8),
                                      responses: 1, halfClose: false)
    }

    @Test func aRestartWithTheProviderDownServesFromTheStateDirAtOnce() throws {
        let setup = try Setup()
        let (first, ready, _) = try setup.start(try setup.config())
        #expect(ready)
        #expect(try Self.get(first, token: try setup.token()).status == 200)
        first.shutdown(drainMillis: 200)
        let kept = try #require(KeyStateFile.read(dir: setup.directory, issuer: AuthTests.issuer))
        #expect(abs(kept.fetchedAt - Date().timeIntervalSince1970) < 60)

        setup.provider.failing.store(true, ordering: .relaxed)
        let (second, readyAgain, took) = try setup.start(try setup.config())
        defer { second.shutdown(drainMillis: 200) }
        #expect(readyAgain, "not ready with keys on disk")
        #expect(took < 1.0, "start waited \(took) s for a provider that is down")
        #expect(second.unmetReadiness().isEmpty, "\(second.unmetReadiness())")
        #expect(try Self.get(second, token: try setup.token()).status == 200)
    }

    @Test func aBootstrapFileServesWhenTheProviderWasNeverReached() throws {
        let setup = try Setup()
        setup.provider.failing.store(true, ordering: .relaxed)
        let bootstrap = setup.directory + "/bootstrap.json"
        try Data(setup.jwks).write(to: URL(fileURLWithPath: bootstrap))
        let (server, ready, _) = try setup.start(try setup.config(stateDir: false, bootstrap: bootstrap))
        defer { server.shutdown(drainMillis: 200) }
        #expect(ready)
        #expect(try Self.get(server, token: try setup.token()).status == 200)
    }

    @Test func withNoKeysAWellFormedTokenIsToldToRetryNotThatItIsInvalid() throws {
        let setup = try Setup()
        setup.provider.failing.store(true, ordering: .relaxed)
        let (server, ready, _) = try setup.start(try setup.config(stateDir: false))
        defer { server.shutdown(drainMillis: 200) }
        #expect(!ready)
        #expect(server.unmetReadiness().contains { $0.contains("no signing keys yet") })
        let unjudged = try Self.get(server, token: try setup.token())
        #expect(unjudged.status == 503)
        #expect(unjudged.text.contains("Retry-After: 30") && unjudged.text.contains("signing keys"))
        // No token, or a token of an issuer nobody configured: still plain 401.
        #expect(try Self.get(server, token: nil).status == 401)
        #expect(try Self.get(server, token: try setup.token(issuer: "https://elsewhere.example/")).status == 401)

        let (rejecting, _, _) = try setup.start(try setup.config(stateDir: false, extraKeys: ", keys_unavailable_action: reject"))
        defer { rejecting.shutdown(drainMillis: 200) }
        let rejected = try Self.get(rejecting, token: try setup.token())
        #expect(rejected.status == 401 && rejected.text.contains("error=\"invalid_token\""))
        #expect(rejected.text.contains("signing keys"))
    }

    @Test func keysPastMaxStaleCountAsUnavailable() throws {
        let setup = try Setup()
        setup.provider.failing.store(true, ordering: .relaxed)
        let tenDaysAgo = Date().timeIntervalSince1970 - 10 * 86_400
        #expect(KeyStateFile.write(dir: setup.directory, issuer: AuthTests.issuer, fetchedAt: tenDaysAgo, jwks: setup.jwks))
        let (server, _, _) = try setup.start(try setup.config())
        defer { server.shutdown(drainMillis: 200) }
        #expect(try Self.get(server, token: try setup.token()).status == 503)
        #expect(server.unmetReadiness().contains { $0.contains("past max_stale") }, "\(server.unmetReadiness())")

        let (lenient, _, _) = try setup.start(try setup.config(extraKeys: ", max_stale: 30d"))
        defer { lenient.shutdown(drainMillis: 200) }
        #expect(try Self.get(lenient, token: try setup.token()).status == 200)
    }
}
