import Config
import Foundation
import Proxy
import TestSupport
import Testing
import Tokens

/// Tokens as a token source would hold them, without an identity provider.
struct FakeOutboundTokens: OutboundTokens {
    let tokens: [String: String]

    func bearer(source: String, scope: String) -> OutboundToken {
        if let token = tokens[source + " " + scope] { return .token(token) }
        return .unavailable("AADSTS7000215: Invalid client secret provided")
    }
}

/// The calling side: the local app sends plain HTTP to the egress listener, which picks the
/// route by the host it named, attaches the route's token in place of the app's, and forwards.
@Suite("Egress", .serialized)
struct EgressTests {
    final class Egress {
        let server: ProxyServer
        let port: UInt16

        init(yaml: String, tokens: FakeOutboundTokens) throws {
            let config = try PortcullisConfig.parse(yaml: yaml)
            server = try ProxyServer(config: config, pipeline: try PipelineFactory(config: config, outbound: tokens))
            try server.start()
            port = server.boundAddresses[0].port
        }

        deinit { server.shutdown(drainMillis: 200) }

        func send(_ request: String, responses: Int = 1) throws -> RawResponse {
            try RawClient.exchange(port: port, bytes: Array(request.utf8), responses: responses, halfClose: false)
        }
    }

    /// Token sources as the config names them; the tests answer for them with FakeOutboundTokens.
    static let sources = """
        token_sources:
          service-a: {kind: client_secret, authority: "http://127.0.0.1:1/tenant", client_id: a, client_secret_file: /dev/null}
          broken: {kind: client_secret, authority: "http://127.0.0.1:1/tenant", client_id: b, client_secret_file: /dev/null}
        """

    static func egressOnly(backend: UInt16) -> String {
        """
        workers: 1
        log: {access: false}
        \(sources)
        egress:
          listeners: [{address: "127.0.0.1:0"}]
          routes:
            - {host: service-b.internal, upstream: "http://127.0.0.1:\(backend)", token: {source: service-a, scope: "api://service-b/.default"}}
            - {host: broken.internal, upstream: "http://127.0.0.1:\(backend)", token: {source: broken, scope: "api://x/.default"}}
            - {host: plain.internal, upstream: "http://127.0.0.1:\(backend)"}
        """
    }

    static let tokens = FakeOutboundTokens(tokens: ["service-a api://service-b/.default": "tok-for-b"])

    @Test func theRouteTokenReplacesTheAppsCredentialsAndTheUpstreamIsCalledByItsName() throws {
        let backend = try DemoBackendHandle()
        let egress = try Egress(yaml: Self.egressOnly(backend: backend.port), tokens: Self.tokens)
        let response = try egress.send("GET /orders?x=1 HTTP/1.1\r\nHost: Service-B.Internal:8080\r\nAuthorization: Bearer the-apps-own\r\nProxy-Authorization: Basic c2VjcmV0\r\nX-Forwarded-For: 10.9.9.9\r\nX-Trace: keep-me\r\nConnection: close\r\n\r\n")
        #expect(response.status == 200)
        let seen = backend.backend.recorded.withLock { String(decoding: $0, as: UTF8.self) }
        #expect(seen.contains("GET /orders?x=1 HTTP/1.1\r\n"))
        #expect(seen.contains("Authorization: Bearer tok-for-b\r\n"))
        #expect(seen.contains("Host: 127.0.0.1:\(backend.port)\r\n"))
        #expect(seen.contains("X-Trace: keep-me\r\n"))
        #expect(!seen.contains("the-apps-own") && !seen.lowercased().contains("proxy-authorization"))
        #expect(!seen.lowercased().contains("x-forwarded-for") && !seen.contains("10.9.9.9"))
        #expect(seen.components(separatedBy: "Authorization:").count == 2, "exactly one Authorization: \(seen)")
    }

    @Test func asHTTPProxyTheAbsoluteFormAuthorityPicksTheRoute() throws {
        let backend = try DemoBackendHandle()
        let egress = try Egress(yaml: Self.egressOnly(backend: backend.port), tokens: Self.tokens)
        let response = try egress.send("GET http://service-b.internal/via-proxy HTTP/1.1\r\nHost: service-b.internal\r\nConnection: close\r\n\r\n")
        #expect(response.status == 200)
        let seen = backend.backend.recorded.withLock { String(decoding: $0, as: UTF8.self) }
        #expect(seen.contains("GET /via-proxy HTTP/1.1\r\n") && seen.contains("Authorization: Bearer tok-for-b\r\n"))
    }

    @Test func unknownHostsAreRefusedAndAMissingTokenIsA503WithTheReason() throws {
        let backend = try DemoBackendHandle()
        let egress = try Egress(yaml: Self.egressOnly(backend: backend.port), tokens: Self.tokens)
        let unknown = try egress.send("GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
        #expect(unknown.status == 403)
        #expect(unknown.text.contains("no egress route for this host"))
        let noToken = try egress.send("GET / HTTP/1.1\r\nHost: broken.internal\r\nConnection: close\r\n\r\n")
        #expect(noToken.status == 503)
        #expect(noToken.text.contains("AADSTS7000215") && noToken.text.contains("Retry-After: 5"))
        #expect(backend.backend.recorded.withLock { $0.isEmpty }, "a refused call reached the upstream")
        // A route without a token forwards without one, and still drops the app's own.
        let plain = try egress.send("GET / HTTP/1.1\r\nHost: plain.internal\r\nAuthorization: Bearer app\r\nConnection: close\r\n\r\n")
        #expect(plain.status == 200)
        #expect(!backend.backend.recorded.withLock { String(decoding: $0, as: UTF8.self) }.contains("Authorization"))
    }

    @Test func bodiesOnAKeptAliveConnectionGoThroughThePool() throws {
        let backend = try DemoBackendHandle()
        let egress = try Egress(yaml: Self.egressOnly(backend: backend.port), tokens: Self.tokens)
        let one = "POST /a HTTP/1.1\r\nHost: service-b.internal\r\nContent-Length: 5\r\n\r\nhello"
        let two = "POST /b HTTP/1.1\r\nHost: service-b.internal\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        let response = try egress.send(one + two + "GET /c HTTP/1.1\r\nHost: service-b.internal\r\nConnection: close\r\n\r\n", responses: 3)
        #expect(response.statuses.filter { $0 == 200 }.count == 3, "\(response)")
        let seen = backend.backend.recorded.withLock { String(decoding: $0, as: UTF8.self) }
        #expect(seen.contains("hello") && seen.contains("abc"))
    }

    /// Both halves: A's egress sidecar calls B's ingress sidecar, which checks the token A's
    /// side attached and hands B's backend the caller's identity.
    @Test func egressThroughIngressEndToEnd() throws {
        let (ingress, signer) = try AuthTests.harness()
        let exp = Int(Date().timeIntervalSince1970) + 3600
        let token = try signer.mint(claims: "{\"iss\":\"\(AuthTests.issuer)\",\"aud\":\"api://service-b\",\"exp\":\(exp),\"azp\":\"service-a\",\"roles\":[\"Data.Read\"]}", kid: "k1")
        let egress = try Egress(yaml: """
        workers: 1
        log: {access: false}
        \(Self.sources)
        egress:
          listeners: [{address: "127.0.0.1:0"}]
          routes: [{host: service-b.internal, upstream: "http://127.0.0.1:\(ingress.port)", token: {source: service-a, scope: "api://service-b/.default"}}]
        """, tokens: FakeOutboundTokens(tokens: ["service-a api://service-b/.default": token]))
        let response = try egress.send("GET /data HTTP/1.1\r\nHost: service-b.internal\r\nConnection: close\r\n\r\n")
        #expect(response.status == 200, "\(response)")
        #expect(ingress.received.contains("X-MS-CLIENT-PRINCIPAL-NAME") || ingress.received.contains("X-MS-CLIENT-PRINCIPAL-ID"),
                "\(ingress.received)")
        // Without the egress sidecar, the same call is refused by B's side.
        #expect(try ingress.exchange("GET /data HTTP/1.1\r\nHost: service-b.internal\r\nConnection: close\r\n\r\n").status == 401)
    }

    @Test func egressConfigErrorsNameTheKey() throws {
        func error(_ yaml: String) -> String {
            do {
                _ = try PortcullisConfig.parse(yaml: yaml)
                return ""
            } catch {
                return error.description
            }
        }
        #expect(error("egress: {listeners: [{address: \"127.0.0.1:0\"}], routes: []}").contains("egress.routes"))
        #expect(error("egress: {listeners: [{address: \"127.0.0.1:0\"}], routes: [{host: \"a:80\", upstream: \"http://127.0.0.1:1\"}]}")
            .contains("egress.routes[0].host"))
        #expect(error("egress: {listeners: [{address: \"127.0.0.1:0\"}], routes: [{host: a, upstream: \"ftp://x\"}]}")
            .contains("egress.routes[0].upstream"))
        #expect(error("egress: {listeners: [{address: \"127.0.0.1:0\"}], routes: [{host: a, upstream: \"http://127.0.0.1:1\"}, {host: A, upstream: \"http://127.0.0.1:2\"}]}")
            .contains("egress.routes[1]"))
        // Ingress keys, when present, are still required together.
        #expect(error("listeners: [{address: \"127.0.0.1:0\"}]\negress: {listeners: [{address: \"127.0.0.1:0\"}], routes: [{host: a, upstream: \"http://127.0.0.1:1\"}]}")
            .contains("upstream"))
        #expect(error("workers: 1\n").contains("listeners"))
        #expect(error("listeners: [{address: \"127.0.0.1:8080\"}]\nupstream: {url: \"http://127.0.0.1:1\"}\negress: {listeners: [{address: \"0.0.0.0:8080\"}], routes: [{host: a, upstream: \"http://127.0.0.1:1\"}]}")
            .contains("egress.listeners[0].address"))
        #expect(error("egress: {listeners: [{address: \"127.0.0.1:15001\"}], routes: [{host: a, upstream: \"http://127.0.0.1:1\"}]}\nadmin: {address: \"127.0.0.1:15001\"}")
            .contains("admin.address"))
        #expect(error("egress: {listeners: [{address: \"127.0.0.1:0\"}], routes: [{host: a, upstream: \"http://127.0.0.1:1\", token: {source: nobody, scope: s}}]}")
            .contains("egress.routes[0].token.source"))
    }
}
