import Config
import Foundation
import Proxy
import TestSupport
import Testing
import Tokens

/// gRPC end to end through the proxy with `upstream.protocol: h2`: Python's grpcio on both
/// sides (a client and a small server in Fixtures/grpc_peer.py), the proxy in between.
@Suite("gRPC through the proxy", .serialized)
struct GRPCTests {
    static let peer = PythonPeer.fixture("grpc_peer.py")

    /// A gRPC server (Fixtures/grpc_peer.py), plain or TLS.
    static func server(tls: Bool = false) throws -> PythonPeer {
        let pki = TestPKI.shared
        return try PythonPeer("grpc_peer.py", tls ? ["serve-tls", "{port}", pki.serverCert, pki.serverKey] : ["serve", "{port}"])
    }

    struct Result: Decodable {
        let code: String
        let replies: [String]
        let trailers: [String: String]
        let details: String
    }

    static func call(_ port: UInt16, _ method: String, _ message: String, metadata: [String] = []) throws -> Result {
        let (_, text) = try TestPKI.run("/usr/bin/env", ["python3", peer, "call", "127.0.0.1:\(port)", method, message] + metadata)
        guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix("{") }) else {
            throw TestPKI.CommandFailed(description: "no result from the gRPC client: \(text)")
        }
        return try JSONDecoder().decode(Result.self, from: Data(line.utf8))
    }

    static func harness(_ server: PythonPeer, extraYAML: String = "") throws -> Harness {
        try Harness(upstreamPort: server.port, extraYAML: extraYAML, listenerYAML: H2Tests.cleartext, upstreamProtocol: "h2")
    }

    @Test func unaryAndStreamingCallsWithMetadataAndTrailers() throws {
        let server = try Self.server()
        let harness = try Self.harness(server)
        let unary = try Self.call(harness.port, "Unary", "hello", metadata: ["k=v", "x-ms-client-principal-id=forged"])
        #expect(unary.code == "OK", "\(unary)")
        let reply = try #require(unary.replies.first)
        #expect(reply.contains("\"message\": \"hello\""))
        #expect(reply.contains("\"k\": \"v\""), "metadata reaches the server: \(reply)")
        #expect(reply.contains("\"x-forwarded-for\": \"127.0.0.1\""))
        #expect(!reply.contains("forged"), "a client's identity header reached the server: \(reply)")
        #expect(unary.trailers["echo-trailer"] == "seen", "trailers come back: \(unary)")

        let streaming = try Self.call(harness.port, "Stream", "5")
        #expect(streaming.code == "OK")
        #expect(streaming.replies == ["reply 0", "reply 1", "reply 2", "reply 3", "reply 4"])

        let failing = try Self.call(harness.port, "Unary", "fail")
        #expect(failing.code == "FAILED_PRECONDITION")
        #expect(failing.details == "asked to fail", "grpc-message comes back: \(failing)")
    }

    @Test func refusedCallsAreUnauthenticatedOrPermissionDenied() throws {
        let server = try Self.server()
        let tokens = try Self.harness(server, extraYAML: try H2Tests.authYAML())
        let unauthenticated = try Self.call(tokens.port, "Unary", "hello")
        #expect(unauthenticated.code == "UNAUTHENTICATED", "\(unauthenticated)")
        let token = try AuthTests.token(try AuthTests.key())
        let authorized = try Self.call(tokens.port, "Unary", "hello", metadata: ["authorization=Bearer \(token)"])
        #expect(authorized.code == "OK", "\(authorized)")
        #expect(authorized.replies.first?.contains("x-ms-client-principal-id") == true)

        let denied = try Self.harness(server, extraYAML: """
        network:
          default_action: allow
          rules: [{name: no-loopback, priority: 1, action: deny, cidrs: [127.0.0.0/8]}]
        """)
        let refused = try Self.call(denied.port, "Unary", "hello")
        #expect(refused.code == "PERMISSION_DENIED", "\(refused)")
    }

    @Test func anHTTP2UpstreamOverTLSIsVerifiedAndCarriesTheCalls() throws {
        let server = try Self.server(tls: true)
        let pki = TestPKI.shared
        let config = try PortcullisConfig.parse(yaml: """
        listeners: [{address: "127.0.0.1:0", protocols: [http/1.1, h2]}]
        upstream: {url: "https://localhost:\(server.port)", protocol: h2, tls: {ca: "\(pki.caCert)"}}
        workers: 1
        log: {access: false}
        """)
        let proxy = try ProxyServer(config: config, pipeline: try PipelineFactory(config: config))
        try proxy.start()
        defer { proxy.shutdown(drainMillis: 200) }
        let result = try Self.call(proxy.boundAddresses[0].port, "Stream", "3")
        #expect(result.code == "OK", "\(result)")
        #expect(result.replies == ["reply 0", "reply 1", "reply 2"])
    }

    /// config/examples/grpc.yaml, as documented, in front of a real gRPC server.
    @Test func theGRPCExampleConfigServesAndRefusesAsDocumented() throws {
        let server = try Self.server()
        let example = try ExampleConfig("grpc.yaml", upstream: "http://127.0.0.1:50051", port: server.port)
        defer { example.proxy.shutdown(drainMillis: 200) }
        let port = example.port
        let key = try ExampleConfig.demoKey()
        let token = try key.mint(claims: """
        {"iss":"https://demo.portcullis.local/","aud":"api://orders","exp":4102444800,"azp":"service-a","roles":["Orders.Call"]}
        """, kid: "demo-key")
        let allowed = try Self.call(port, "Unary", "hello", metadata: ["authorization=Bearer \(token)"])
        #expect(allowed.code == "OK", "\(allowed)")
        #expect(try Self.call(port, "Unary", "hello").code == "UNAUTHENTICATED")
        // The listener speaks HTTP/2 only: an HTTP/1.1 client is told so.
        let plain = try RawClient.exchange(port: port, bytes: Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8), responses: 1, halfClose: false)
        #expect(plain.status == 505, "\(plain)")
        #expect(plain.text.contains("HTTP/2 only"))
        #expect(plain.closed)
    }

    @Test func aDeadUpstreamIsUnavailable() throws {
        let (fd, port) = RawClient.bindEphemeral(listening: false)
        defer { close(fd) }
        let harness = try Harness(upstreamPort: port, listenerYAML: H2Tests.cleartext, upstreamProtocol: "h2")
        let result = try Self.call(harness.port, "Unary", "hello")
        #expect(result.code == "UNAVAILABLE", "\(result)")
        // An HTTP/1.1 client of an HTTP/2-only upstream gets a clear answer.
        let plain = try harness.exchange("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(plain.status == 505)
    }
}
