import Config
import EventLoop
import Foundation
import Proxy
import TestSupport
import Testing

/// TLS termination, SNI, versions and mutual TLS, driven by real clients (curl, openssl s_client).
@Suite("TLS on listeners", .serialized)
struct TLSTests {
    static var pki: TestPKI { TestPKI.shared }

    static func listener(clientCertificates: String? = nil, minVersion: String = "1.2", secondCertificate: Bool = false) -> String {
        var certificates = "{cert: \"\(pki.serverCert)\", key: \"\(pki.serverKey)\"}"
        if secondCertificate { certificates += ", {cert: \"\(pki.secondCert)\", key: \"\(pki.secondKey)\"}" }
        var tls = "certificates: [\(certificates)], min_version: \"\(minVersion)\""
        if let clientCertificates { tls += ", client_certificates: \(clientCertificates)" }
        return ", tls: {\(tls)}"
    }

    static func url(_ harness: Harness, _ path: String = "/hello", host: String = "localhost") -> String {
        "https://\(host):\(harness.port)\(path)"
    }

    static func resolve(_ harness: Harness, _ host: String) -> [String] {
        ["--resolve", "\(host):\(harness.port):127.0.0.1"]
    }

    @Test func aRequestOverTLSIsForwardedAsHTTPS() throws {
        let harness = try Harness(listenerYAML: Self.listener())
        let result = try TestPKI.curl(["--cacert", Self.pki.caCert, "--http1.1"] + Self.resolve(harness, "localhost")
                                      + ["-H", "X-ARR-ClientCert: forged", Self.url(harness)])
        #expect(result.exit == 0, "\(result)")
        #expect(result.status == 200)
        let seen = harness.received
        #expect(seen.contains("X-Forwarded-Proto: https\r\n"))
        #expect(!seen.lowercased().contains("x-arr-clientcert"), "a client's certificate header reached the backend: \(seen)")
    }

    @Test func keepAliveAndALargeBodyOverTLS() throws {
        let harness = try Harness(listenerYAML: Self.listener())
        let body = NSTemporaryDirectory() + "portcullis-body-\(UUID().uuidString)"
        try Data(repeating: 0x61, count: 3_000_000).write(to: URL(fileURLWithPath: body))
        let result = try TestPKI.curl(["--cacert", Self.pki.caCert] + Self.resolve(harness, "localhost")
                                      + [Self.url(harness, "/one"), "--data-binary", "@\(body)", Self.url(harness, "/two")])
        #expect(result.exit == 0, "\(result)")
        #expect(result.body.contains("\"body_bytes\":3000000"), "\(result.body.prefix(300))")
        // One TLS connection carried both requests (curl reuses it): one upstream head each.
        #expect(harness.received.components(separatedBy: "X-Forwarded-Proto: https").count == 3)
    }

    @Test func sniPicksTheCertificateForTheName() throws {
        let harness = try Harness(listenerYAML: Self.listener(secondCertificate: true))
        for host in ["localhost", "second.test"] {
            // curl verifies the name: it succeeds only if the certificate for that name was served.
            let result = try TestPKI.curl(["--cacert", Self.pki.caCert] + Self.resolve(harness, host) + [Self.url(harness, host: host)])
            #expect(result.exit == 0 && result.status == 200, "\(host): \(result)")
        }
        // A name no certificate covers gets the first (default) one, which then fails verification.
        let unknown = try TestPKI.curl(["--cacert", Self.pki.caCert] + Self.resolve(harness, "nobody.test") + [Self.url(harness, host: "nobody.test")])
        #expect(unknown.exit != 0)
    }

    @Test func versionsBelowTheMinimumAreRefused() throws {
        let harness = try Harness(listenerYAML: Self.listener())
        let base = ["s_client", "-connect", "127.0.0.1:\(harness.port)", "-servername", "localhost",
                    "-CAfile", Self.pki.caCert, "-cipher", "DEFAULT@SECLEVEL=0"]
        // The same client, able to speak TLS 1.1, gets through with 1.2 and is refused with 1.1.
        let modern = try TestPKI.run("/usr/bin/openssl", base + ["-tls1_2"], input: "")
        #expect(modern.1.contains("Protocol  : TLSv1.2") || modern.1.contains("TLSv1.2"), "\(modern.1)")
        let old = try TestPKI.run("/usr/bin/openssl", base + ["-tls1_1"], input: "")
        #expect(old.0 != 0, "TLS 1.1 handshake was accepted: \(old.1)")

        let strict = try Harness(listenerYAML: Self.listener(minVersion: "1.3"))
        let twelve = try TestPKI.curl(["--cacert", Self.pki.caCert, "--tls-max", "1.2"] + Self.resolve(strict, "localhost") + [Self.url(strict)])
        #expect(twelve.exit != 0 && twelve.status == 0, "TLS 1.2 accepted with min_version 1.3: \(twelve)")
        let thirteen = try TestPKI.curl(["--cacert", Self.pki.caCert] + Self.resolve(strict, "localhost") + [Self.url(strict)])
        #expect(thirteen.status == 200)
    }

    static func mutualHarness(mode: String = "require", allowed: String? = "[\"uri:spiffe://cluster.local/ns/a/sa/service-a\"]") throws -> Harness {
        let clientRule = allowed.map { "client_certificate: {allowed: \($0)}" } ?? ""
        return try Harness(extraYAML: clientRule,
                           listenerYAML: Self.listener(clientCertificates: "{mode: \(mode), ca: \"\(pki.caCert)\"}"))
    }

    static func curlWith(_ harness: Harness, client: (cert: String, key: String)?, extra: [String] = []) throws -> (exit: Int32, status: Int, body: String) {
        var arguments = ["--cacert", pki.caCert] + resolve(harness, "localhost") + extra
        if let client { arguments += ["--cert", client.cert, "--key", client.key] }
        return try TestPKI.curl(arguments + [url(harness)])
    }

    @Test func mutualTLSRequiresAVerifiedCertificateWithAnAllowedIdentity() throws {
        let harness = try Self.mutualHarness()
        let none = try Self.curlWith(harness, client: nil)
        #expect(none.status == 0, "no certificate got an answer: \(none)")
        let otherCA = try Self.curlWith(harness, client: Self.pki.clientOtherCA)
        #expect(otherCA.status == 0, "a certificate of another CA got an answer: \(otherCA)")
        let notAllowed = try Self.curlWith(harness, client: Self.pki.clientX)
        #expect(notAllowed.status == 403, "\(notAllowed)")
        #expect(harness.receivedCount == 0)

        let allowed = try Self.curlWith(harness, client: Self.pki.clientA, extra: ["-H", "X-ARR-ClientCert: forged"])
        #expect(allowed.status == 200, "\(allowed)")
        let seen = harness.received
        let der = try TestPKI.base64DER(Self.pki.clientA.cert)
        #expect(seen.contains("x-arr-clientcert: \(der)\r\n"), "\(seen)")
        #expect(!seen.contains("forged"))
        #expect(seen.lowercased().components(separatedBy: "x-arr-clientcert:").count == 2)
    }

    @Test func optionalModeLetsNoCertificateHandshakeButNeverAnUnverifiedOne() throws {
        let harness = try Self.mutualHarness(mode: "optional")
        let none = try Self.curlWith(harness, client: nil)
        // The handshake succeeds; the identity rule still wants a certificate.
        #expect(none.status == 403, "\(none)")
        let otherCA = try Self.curlWith(harness, client: Self.pki.clientOtherCA)
        #expect(otherCA.status == 0, "an unverified certificate was accepted: \(otherCA)")
        #expect(try Self.curlWith(harness, client: Self.pki.clientA).status == 200)

        let open = try Self.mutualHarness(mode: "optional", allowed: nil)
        let anonymous = try Self.curlWith(open, client: nil)
        #expect(anonymous.status == 200, "\(anonymous)")
        #expect(!open.received.lowercased().contains("x-arr-clientcert"))
    }

    @Test func aStalledHandshakeIsClosedAtTheHandshakeTimeout() throws {
        let harness = try Harness(listenerYAML: Self.listener(),
                                  timeouts: "{request_header: 5s, idle: 5s, drain: 1s, tls_handshake: 300ms}")
        let fd = try RawClient.connect(port: harness.port)
        defer { close(fd) }
        let started = Sys.monotonicMillis()
        let response = RawClient.read(fd, responses: 1)
        #expect(response.closed)
        #expect(response.bytes.isEmpty)
        let waited = Sys.monotonicMillis() - started
        #expect(waited >= 250 && waited < 2500, "closed after \(waited) ms")
        #expect(ConnectionLifetimeTests.settle(harness) == 0)
    }

    /// A ClientHello in two pieces (the handshake waits for an edge), then the client's Finished
    /// and two pipelined requests in one segment (OpenSSL reads them in one go, so the requests
    /// are already in its buffer when the handshake completes): both answered, none left behind.
    @Test func bytesThatCameWithTheHandshakeAreServed() throws {
        let harness = try Harness(listenerYAML: Self.listener())
        let (status, text) = try TestPKI.run("/usr/bin/timeout", ["20", "python3", PythonPeer.fixture("tls_flight.py"), String(harness.port)])
        #expect(status == 0, "\(text)")
        #expect(text.contains("responses 2"), "\(text)")
        let seen = harness.received
        #expect(seen.contains("GET /first HTTP/1.1\r\n") && seen.contains("GET /second HTTP/1.1\r\n"), "\(seen)")
    }

    @Test func sessionsResumeWithTicketsAcrossAReload() throws {
        let harness = try Harness(listenerYAML: Self.listener())
        let session = NSTemporaryDirectory() + "portcullis-session-\(UUID().uuidString)"
        let base = ["s_client", "-connect", "127.0.0.1:\(harness.port)", "-servername", "localhost", "-CAfile", Self.pki.caCert, "-tls1_2"]
        let first = try TestPKI.run("/usr/bin/openssl", base + ["-sess_out", session], input: "")
        #expect(first.1.contains("New, TLSv1.2"), "\(first.1)")
        let second = try TestPKI.run("/usr/bin/openssl", base + ["-sess_in", session], input: "")
        #expect(second.1.contains("Reused, TLSv1.2"), "\(second.1)")
        // The ticket keys belong to the process, not the context: a SIGHUP reload keeps them.
        _ = try harness.server.reload(harness.config)
        usleep(50_000)
        let third = try TestPKI.run("/usr/bin/openssl", base + ["-sess_in", session], input: "")
        #expect(third.1.contains("Reused, TLSv1.2"), "\(third.1)")
    }

    @Test func certificatesAreReloadedForNewHandshakes() throws {
        let directory = NSTemporaryDirectory() + "portcullis-reload-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let cert = directory + "/tls.crt", key = directory + "/tls.key"
        try FileManager.default.copyItem(atPath: Self.pki.serverCert, toPath: cert)
        try FileManager.default.copyItem(atPath: Self.pki.serverKey, toPath: key)
        let harness = try Harness(listenerYAML: ", tls: {certificates: [{cert: \"\(cert)\", key: \"\(key)\"}]}")
        func get(trusting ca: String) throws -> Int {
            try TestPKI.curl(["--cacert", ca] + Self.resolve(harness, "localhost") + [Self.url(harness)]).status
        }
        #expect(try get(trusting: Self.pki.caCert) == 200)
        // The files change (a renewed certificate from another CA); nothing happens until the reload.
        try FileManager.default.removeItem(atPath: cert)
        try FileManager.default.removeItem(atPath: key)
        try FileManager.default.copyItem(atPath: Self.pki.otherServer.cert, toPath: cert)
        try FileManager.default.copyItem(atPath: Self.pki.otherServer.key, toPath: key)
        #expect(try get(trusting: Self.pki.caCert) == 200)
        _ = try harness.server.reload(harness.config)
        usleep(50_000)
        #expect(try get(trusting: Self.pki.otherCACert) == 200)
        #expect(try get(trusting: Self.pki.caCert) == 0)
        // A broken file on reload is an error and the certificates in use stay.
        try "not a key".write(toFile: key, atomically: true, encoding: .utf8)
        #expect(throws: ProxyServer.ReloadError.self) { try harness.server.reload(harness.config) }
        #expect(try get(trusting: Self.pki.otherCACert) == 200)
    }

    @Test func badCertificateFilesAreConfigErrorsNamingTheKey() throws {
        func error(_ tls: String) throws -> String {
            let config = try PortcullisConfig.parse(yaml: """
            listeners: [{address: "127.0.0.1:0", tls: \(tls)}]
            upstream: {url: "http://127.0.0.1:9"}
            """)
            do {
                _ = try PipelineFactory(config: config)
                return ""
            } catch {
                return error.description
            }
        }
        let mismatch = try error("{certificates: [{cert: \"\(Self.pki.serverCert)\", key: \"\(Self.pki.secondKey)\"}]}")
        #expect(mismatch.contains("'listeners[0].tls.certificates[0].key'") && mismatch.contains("does not match"), "\(mismatch)")
        let missing = try error("{certificates: [{cert: \"/nonexistent/tls.crt\", key: \"\(Self.pki.serverKey)\"}]}")
        #expect(missing.contains("'listeners[0].tls.certificates[0].cert'"), "\(missing)")
        let notAKey = try error("{certificates: [{cert: \"\(Self.pki.serverCert)\", key: \"\(Self.pki.serverCert)\"}]}")
        #expect(notAKey.contains("'listeners[0].tls.certificates[0].key'"), "\(notAKey)")
        let badCA = try error("{certificates: [{cert: \"\(Self.pki.serverCert)\", key: \"\(Self.pki.serverKey)\"}], client_certificates: {mode: require, ca: /nonexistent/ca.pem}}")
        #expect(badCA.contains("'listeners[0].tls.client_certificates.ca'"), "\(badCA)")
        #expect(throws: ConfigError.self) {
            _ = try PortcullisConfig.parse(yaml: """
            listeners: [{address: "127.0.0.1:0", tls: {certificates: [{cert: a, key: b}], min_version: "1.1"}}]
            upstream: {url: "http://127.0.0.1:9"}
            """)
        }
    }
}

/// The README's TLS example is a file that runs: its paths pointed at a test PKI, it serves.
@Suite("TLS example config", .serialized)
struct TLSExampleTests {
    @Test func theTLSExampleLoadsAndServesMutualTLSOverH2() throws {
        let pki = TestPKI.shared
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var text = try String(contentsOf: root.appendingPathComponent("config/examples/tls-mtls-h2.yaml"), encoding: .utf8)
        let backend = try DemoBackendHandle()
        text = text.replacingOccurrences(of: "/etc/portcullis/tls/tls.crt", with: pki.serverCert)
            .replacingOccurrences(of: "/etc/portcullis/tls/tls.key", with: pki.serverKey)
            .replacingOccurrences(of: "/etc/portcullis/tls/clients-ca.pem", with: pki.caCert)
            .replacingOccurrences(of: "0.0.0.0:8443", with: "127.0.0.1:0")
            .replacingOccurrences(of: "127.0.0.1:8080", with: "127.0.0.1:0")
            .replacingOccurrences(of: "http://127.0.0.1:8000", with: "http://127.0.0.1:\(backend.port)")
            .replacingOccurrences(of: "workers: auto", with: "workers: 1")
        let config = try PortcullisConfig.parse(yaml: text)
        let server = try ProxyServer(config: config, pipeline: try PipelineFactory(config: config))
        try server.start()
        defer { server.shutdown(drainMillis: 200) }
        let tlsPort = server.boundAddresses[0].port, plainPort = server.boundAddresses[1].port
        let base = ["--cacert", pki.caCert, "--resolve", "localhost:\(tlsPort):127.0.0.1"]
        let allowed = try H2Tests.curl(base + ["--cert", pki.clientA.cert, "--key", pki.clientA.key, "https://localhost:\(tlsPort)/orders"])
        #expect(allowed.version == "2" && allowed.status == 200, "\(allowed)")
        let other = try H2Tests.curl(base + ["--cert", pki.clientX.cert, "--key", pki.clientX.key, "https://localhost:\(tlsPort)/orders"])
        #expect(other.status == 403)
        let cleartext = try H2Tests.curl(["--http2-prior-knowledge", "http://127.0.0.1:\(plainPort)/healthz"])
        #expect(cleartext.version == "2" && cleartext.status == 200)
    }
}
