import Config
import Foundation
import Proxy
import TestSupport
import Testing

/// TLS to the upstream (`upstream.url: https://…`): the backend's certificate verified against
/// `upstream.tls.ca` and its name, SNI sent, a client certificate presented when configured.
@Suite("TLS to the upstream", .serialized)
struct UpstreamTLSTests {
    /// An HTTPS echo backend (Fixtures/https_backend.py) with the test PKI's localhost certificate.
    static func backend(clientCA: String? = nil) throws -> PythonPeer {
        let pki = TestPKI.shared
        return try PythonPeer("https_backend.py", ["{port}", pki.serverCert, pki.serverKey] + (clientCA.map { [$0] } ?? []))
    }

    static func proxy(_ backend: PythonPeer, tls: String) throws -> (ProxyServer, UInt16) {
        let config = try PortcullisConfig.parse(yaml: """
        listeners: [{address: "127.0.0.1:0"}]
        upstream:
          url: https://localhost:\(backend.port)
          connect_timeout: 2s
          response_timeout: 3s
          tls: \(tls)
        workers: 1
        log: {access: false}
        """)
        let server = try ProxyServer(config: config, pipeline: try PipelineFactory(config: config))
        try server.start()
        return (server, server.boundAddresses[0].port)
    }

    @Test func anHTTPSUpstreamIsVerifiedAndSpokenToOverTLS() throws {
        let pki = TestPKI.shared
        let backend = try Self.backend()
        let (server, port) = try Self.proxy(backend, tls: "{ca: \"\(pki.caCert)\"}")
        defer { server.shutdown(drainMillis: 200) }
        let first = try RawClient.exchange(port: port, bytes: Array("GET /a HTTP/1.1\r\nHost: svc\r\n\r\n".utf8), responses: 1, halfClose: false)
        #expect(first.status == 200, "\(first)")
        #expect(first.text.contains("\"line\": \"GET /a HTTP/1.1\""))
        #expect(first.text.contains("\"X-Forwarded-Proto\": \"http\""))
        // Keep-alive to the upstream: a second request reuses the pooled TLS connection.
        let second = try RawClient.exchange(port: port, bytes: Array("POST /b HTTP/1.1\r\nHost: svc\r\nContent-Length: 3\r\n\r\nabc".utf8), responses: 1, halfClose: false)
        #expect(second.status == 200, "\(second)")
    }

    @Test func anUpstreamCertificateFromAnotherCAOrForAnotherNameIs502() throws {
        let pki = TestPKI.shared
        let backend = try Self.backend()
        let (untrusted, port) = try Self.proxy(backend, tls: "{ca: \"\(pki.otherCACert)\"}")
        defer { untrusted.shutdown(drainMillis: 200) }
        let response = try RawClient.exchange(port: port, bytes: Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8), responses: 1, halfClose: false)
        #expect(response.status == 502, "\(response)")

        let (wrongName, otherPort) = try Self.proxy(backend, tls: "{ca: \"\(pki.caCert)\", server_name: second.test}")
        defer { wrongName.shutdown(drainMillis: 200) }
        let misnamed = try RawClient.exchange(port: otherPort, bytes: Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8), responses: 1, halfClose: false)
        #expect(misnamed.status == 502, "\(misnamed)")
    }

    @Test func aClientCertificateIsPresentedWhenTheUpstreamAsks() throws {
        let pki = TestPKI.shared
        let backend = try Self.backend(clientCA: pki.caCert)
        let (without, port) = try Self.proxy(backend, tls: "{ca: \"\(pki.caCert)\"}")
        defer { without.shutdown(drainMillis: 200) }
        #expect(try RawClient.exchange(port: port, bytes: Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8), responses: 1, halfClose: false).status == 502)
        let (with, withPort) = try Self.proxy(backend, tls: "{ca: \"\(pki.caCert)\", cert: \"\(pki.clientA.cert)\", key: \"\(pki.clientA.key)\"}")
        defer { with.shutdown(drainMillis: 200) }
        let response = try RawClient.exchange(port: withPort, bytes: Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8), responses: 1, halfClose: false)
        #expect(response.status == 200, "\(response)")
        #expect(response.text.contains("\"client_cert\": true"))
    }

    @Test func upstreamTLSConfigErrorsNameTheKey() throws {
        #expect(throws: ConfigError.self) {
            _ = try PortcullisConfig.parse(yaml: "listeners: [{address: \"127.0.0.1:0\"}]\nupstream: {url: \"http://127.0.0.1:9\", tls: {ca: x}}")
        }
        let config = try PortcullisConfig.parse(yaml: "listeners: [{address: \"127.0.0.1:0\"}]\nupstream: {url: \"https://127.0.0.1:9\", tls: {ca: /nonexistent.pem}}")
        do {
            _ = try PipelineFactory(config: config)
            Issue.record("a missing CA bundle was accepted")
        } catch {
            #expect(error.description.contains("'upstream.tls.ca'"), "\(error)")
        }
    }
}
