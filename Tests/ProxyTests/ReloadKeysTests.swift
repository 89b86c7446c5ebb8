import Config
import Foundation
import Proxy
import TestSupport
import Testing
import Tokens

/// A reload keeps what it did not change: fetched keys of an unchanged issuer (no refetch, no
/// moment without keys), and readiness; an issuer it adds is fetched, and new token rules apply.
@Suite("Reload and keys", .serialized)
struct ReloadKeysTests {
    @Test func anUnchangedKeySourceKeepsItsKeysAndANewOneIsFetched() throws {
        let provider = TestHTTPServer()
        defer { provider.stop() }
        let signer = try AuthTests.key()
        let jwks = Array(JSONValue.object([("keys", .array([signer.publicJWK(kid: "k")]))]).serialized.utf8)
        provider.set("/keys", .init(body: jwks))
        provider.set("/other-keys", .init(body: jwks))
        let backend = try DemoBackendHandle()
        func config(audience: String, denyAll: Bool = false, secondIssuer: Bool = false) throws -> PortcullisConfig {
            try PortcullisConfig.parse(yaml: """
            listeners: [{address: "127.0.0.1:0"}]
            upstream: {url: "http://127.0.0.1:\(backend.port)"}
            workers: 1
            log: {access: false}
            network: {default_action: allow, rules: [{name: r, priority: 1, action: \(denyAll ? "deny" : "allow"), cidrs: [0.0.0.0/0]}]}
            auth:
              issuers:
                - {issuer: "\(AuthTests.issuer)", jwks_url: "\(provider.url("/keys"))", audiences: [\(audience)], algorithms: [ES256]}
            \(secondIssuer ? "    - {issuer: \"https://other.example/\", jwks_url: \"\(provider.url("/other-keys"))\", audiences: [api://x], algorithms: [ES256]}" : "")
            """)
        }
        let first = try config(audience: "api://service-b")
        let server = try ProxyServer(config: first, pipeline: try PipelineFactory(config: first))
        #expect(server.startKeyFetcher())
        try server.start()
        defer { server.shutdown(drainMillis: 200) }
        let port = server.boundAddresses[0].port
        let exp = Int(Date().timeIntervalSince1970) + 3600
        let token = try signer.mint(claims: "{\"iss\":\"\(AuthTests.issuer)\",\"aud\":\"api://service-b\",\"exp\":\(exp)}", kid: "k")
        func get() throws -> Int? {
            try RawClient.exchange(port: port, bytes: Array("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(token)\r\nConnection: close\r\n\r\n".utf8),
                                   responses: 1, halfClose: false).status
        }
        #expect(try get() == 200)
        #expect(provider.count("/keys") == 1)

        // Rules change, the key source does not: the token passes at once, nothing is fetched.
        #expect(try server.reload(try config(audience: "api://service-b", denyAll: true)).generation == 2)
        usleep(50_000)
        #expect(try get() == 403)
        _ = try server.reload(try config(audience: "api://service-b"))
        usleep(50_000)
        #expect(try get() == 200)
        #expect(provider.count("/keys") == 1)

        // The token rules change: a token valid before (and cached) is judged by the new ones.
        _ = try server.reload(try config(audience: "api://somebody-else"))
        usleep(50_000)
        #expect(try get() == 401)
        #expect(provider.count("/keys") == 1)

        // A new issuer: fetched (once), the first stays as it was.
        _ = try server.reload(try config(audience: "api://service-b", secondIssuer: true))
        var fetched = false
        for _ in 0..<100 where !fetched {
            usleep(20_000)
            fetched = provider.count("/other-keys") == 1
        }
        #expect(fetched)
        #expect(try get() == 200)
        #expect(provider.count("/keys") == 1)
        #expect(server.isReady)

        // An invalid file is refused and counted; the configuration in effect stays.
        #expect(throws: ProxyServer.ReloadError.self) {
            try server.reload { () throws(ConfigError) -> PortcullisConfig in
                try PortcullisConfig.parse(yaml: "listeners: []\nupstream: {url: \"http://127.0.0.1:1\"}\n")
            }
        }
        #expect(try get() == 200)
        #expect(server.reloadCounts.failed == 1)
        #expect(server.configGeneration == 5)
    }
}
