import Foundation
import Testing
import Tokens
import Config
import Proxy
import TestSupport

/// Bearer tokens through the real proxy, keys from a jwks_file the test writes.
@Suite("Bearer tokens through the proxy", .serialized)
struct AuthTests {
    static let issuer = "https://login.microsoftonline.com/tenant/v2.0"

    static func key() throws -> SigningKey {
        // The test-only P-256 key of the token tests.
        let pem = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgdmR46jzJFhO+3ljA
        D6eoyB/CoXUvNH38cLusdYL7+3ehRANCAAQIJpDJ0IeCdoM/PON9FY30h8ZbHNcR
        OTUqnkjnffcY2cC3z77xYBa3gXOL7cD0id2a/kEbVfRvWps58dUt/CDK
        -----END PRIVATE KEY-----
        """
        return try SigningKey(pem: Array(pem.utf8))
    }

    static func harness(_ authExtra: String = "") throws -> (Harness, SigningKey) {
        let signer = try key()
        let path = NSTemporaryDirectory() + "portcullis-jwks-\(UUID().uuidString).json"
        try JSONValue.object([("keys", .array([signer.publicJWK(kid: "k1")]))]).serialized.write(toFile: path, atomically: true, encoding: .utf8)
        let harness = try Harness(extraYAML: """
        auth:
          excluded_paths: [/healthz, /public/*]
          issuers:
            - issuer: \(issuer)
              jwks_file: \(path)
              audiences: [api://service-b]
              algorithms: [ES256]
          authorization:
            required_roles: [Data.Read]
        \(authExtra)
        """)
        return (harness, signer)
    }

    static func token(_ signer: SigningKey, roles: String = "[\"Data.Read\"]", exp: Int = Int(Date().timeIntervalSince1970) + 3600) throws -> String {
        try signer.mint(claims: """
        {"iss":"\(issuer)","aud":"api://service-b","exp":\(exp),"azp":"app-a","oid":"oid-1","roles":\(roles)}
        """, kid: "k1")
    }

    @Test func aValidTokenIsForwardedWithIdentityAndForgedIdentityDropped() throws {
        let (harness, signer) = try Self.harness()
        let token = try Self.token(signer)
        let response = try harness.exchange("GET /orders HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(token)\r\nX-MS-CLIENT-PRINCIPAL-ID: forged\r\nx-ms-client-principal: Zm9yZ2Vk\r\n\r\n")
        #expect(response.status == 200)
        let seen = harness.received
        #expect(seen.contains("X-MS-CLIENT-PRINCIPAL-ID: oid-1\r\n"))
        #expect(seen.contains("X-MS-CLIENT-PRINCIPAL-IDP: aad\r\n"))
        #expect(!seen.contains("forged"))
        #expect(!seen.contains("Zm9yZ2Vk"))
        #expect(seen.components(separatedBy: "X-MS-CLIENT-PRINCIPAL:").count == 2)
    }

    @Test func noTokenIs401WithBearerChallenge() throws {
        let (harness, _) = try Self.harness()
        let response = try harness.exchange("GET /orders HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(response.status == 401)
        #expect(response.text.contains("WWW-Authenticate: Bearer\r\n"))
        #expect(harness.receivedCount == 0)
    }

    @Test func aBadTokenIs401InvalidToken() throws {
        let (harness, signer) = try Self.harness()
        let expired = try Self.token(signer, exp: Int(Date().timeIntervalSince1970) - 3600)
        let response = try harness.exchange("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: bearer \(expired)\r\n\r\n")
        #expect(response.status == 401)
        #expect(response.text.contains("WWW-Authenticate: Bearer error=\"invalid_token\", error_description=\"the token has expired\""))
        let garbage = try harness.exchange("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer not.a.token\r\n\r\n")
        #expect(garbage.status == 401)
        #expect(harness.receivedCount == 0)
    }

    @Test func aMissingRoleIs403InsufficientScope() throws {
        let (harness, signer) = try Self.harness()
        let token = try Self.token(signer, roles: "[\"Other\"]")
        let response = try harness.exchange("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(token)\r\n\r\n")
        #expect(response.status == 403)
        #expect(response.text.contains("error=\"insufficient_scope\""))
        #expect(harness.receivedCount == 0)
    }

    @Test func twoAuthorizationHeadersAre400() throws {
        let (harness, signer) = try Self.harness()
        let token = try Self.token(signer)
        let response = try harness.exchange("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(token)\r\nAuthorization: Bearer \(token)\r\n\r\n")
        #expect(response.status == 400)
        #expect(harness.receivedCount == 0)
    }

    @Test func excludedPathsSkipTheCheckButNotWithDotSegments() throws {
        let (harness, _) = try Self.harness()
        #expect(try harness.exchange("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n").status == 200)
        #expect(try harness.exchange("GET /public/logo.png HTTP/1.1\r\nHost: a\r\n\r\n").status == 200)
        #expect(try harness.exchange("GET /public/../admin HTTP/1.1\r\nHost: a\r\n\r\n").status == 401)
        #expect(try harness.exchange("GET /public/%2e%2e/admin HTTP/1.1\r\nHost: a\r\n\r\n").status == 401)
        #expect(try harness.exchange("GET /healthz/x HTTP/1.1\r\nHost: a\r\n\r\n").status == 401)
    }

    @Test func allowAnonymousForwardsWithoutIdentityButStillRefusesBadTokens() throws {
        let (harness, _) = try Self.harness("  unauthenticated_action: allow_anonymous")
        let anonymous = try harness.exchange("GET /a HTTP/1.1\r\nHost: a\r\nX-MS-CLIENT-PRINCIPAL-NAME: forged\r\n\r\n")
        #expect(anonymous.status == 200)
        #expect(!harness.received.lowercased().contains("x-ms-client-principal"))
        let bad = try harness.exchange("GET /b HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer a.b.c\r\n\r\n")
        #expect(bad.status == 401)
    }
}

/// Keys over HTTP, through the whole proxy: a rotation at the identity provider is picked up on
/// the first token with the new kid, and the provider is not asked again within the interval.
@Suite("Key rotation through the proxy", .serialized)
struct KeyRotationTests {
    @Test func anUnknownKidTriggersOneRefetchAndTheNextRequestPasses() throws {
        let provider = TestHTTPServer()
        defer { provider.stop() }
        let signer = try AuthTests.key()
        func jwks(_ kid: String) -> [UInt8] {
            Array(JSONValue.object([("keys", .array([signer.publicJWK(kid: kid)]))]).serialized.utf8)
        }
        provider.set("/keys", .init(body: jwks("old")))
        let backend = try DemoBackendHandle()
        let config = try PortcullisConfig.parse(yaml: """
        listeners: [{address: "127.0.0.1:0"}]
        upstream: {url: "http://127.0.0.1:\(backend.port)"}
        workers: 1
        log: {access: false}
        auth:
          issuers:
            - {issuer: "\(AuthTests.issuer)", jwks_url: "\(provider.url("/keys"))", audiences: [api://service-b], algorithms: [ES256]}
          keys: {unknown_kid_interval: 2s}
        """)
        let pipeline = try PipelineFactory(config: config)
        let server = try ProxyServer(config: config, pipeline: pipeline)
        server.startKeyFetcher()
        try server.start()
        defer { server.shutdown(drainMillis: 200) }
        let port = server.boundAddresses[0].port
        let exp = Int(Date().timeIntervalSince1970) + 3600
        func token(_ kid: String) throws -> String {
            try signer.mint(claims: "{\"iss\":\"\(AuthTests.issuer)\",\"aud\":\"api://service-b\",\"exp\":\(exp)}", kid: kid)
        }
        func get(_ token: String) throws -> Int? {
            try RawClient.exchange(port: port, bytes: Array("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(token)\r\nConnection: close\r\n\r\n".utf8),
                                   responses: 1, halfClose: false).status
        }
        #expect(try get(try token("old")) == 200)
        provider.set("/keys", .init(body: jwks("new")))
        // The first request with the new kid is refused (keys are fetched off the request path)
        // and asks for a refetch; a flood of unknown kids asks once.
        #expect(try get(try token("new")) == 401)
        for i in 0..<10 { _ = try get(try token("random-\(i)")) }
        var status: Int?
        for _ in 0..<50 where status != 200 {
            usleep(50_000)
            status = try get(try token("new"))
        }
        #expect(status == 200)
        #expect(provider.count("/keys") == 2)
    }
}

@Suite("Readiness", .serialized)
struct ReadinessTests {
    @Test func notReadyUntilTheFirstKeySetLoadsThenReady() throws {
        let provider = TestHTTPServer()
        defer { provider.stop() }
        let signer = try AuthTests.key()
        provider.set("/keys", .init(body: Array(JSONValue.object([("keys", .array([signer.publicJWK(kid: "k")]))]).serialized.utf8)))
        provider.failing.store(true, ordering: .relaxed)
        let backend = try DemoBackendHandle()
        let config = try PortcullisConfig.parse(yaml: """
        listeners: [{address: "127.0.0.1:0"}]
        upstream: {url: "http://127.0.0.1:\(backend.port)"}
        workers: 1
        log: {access: false}
        readiness_path: /.portcullis/ready
        network: {rules: [{name: nobody, priority: 1, action: deny, cidrs: ["0.0.0.0/0"]}]}
        auth:
          issuers:
            - {issuer: "\(AuthTests.issuer)", jwks_url: "\(provider.url("/keys"))", audiences: [api://service-b], algorithms: [ES256]}
        """)
        let pipeline = try PipelineFactory(config: config)
        let server = try ProxyServer(config: config, pipeline: pipeline)
        server.startKeyFetcher()
        try server.start()
        defer { server.shutdown(drainMillis: 200) }
        let port = server.boundAddresses[0].port
        func probe() throws -> Int? {
            try RawClient.exchange(port: port, bytes: Array("GET /.portcullis/ready HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".utf8),
                                   responses: 1, halfClose: false).status
        }
        // The probe is answered before the network rules (which deny everyone here).
        #expect(try probe() == 503)
        provider.failing.store(false, ordering: .relaxed)
        var status: Int?
        for _ in 0..<80 where status != 200 {
            usleep(50_000)
            status = try probe()
        }
        #expect(status == 200)
        #expect(backend.backend.recorded.withLock { $0.isEmpty })
    }
}
