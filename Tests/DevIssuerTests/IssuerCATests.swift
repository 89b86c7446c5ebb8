import Config
import DevIssuer
import IssuerTestSupport
import KeyFetcher
import Synchronization
import Testing

/// `auth.issuers[].ca`: an ingress sidecar trusts a private CA for discovery and JWKS.
@Suite("Issuer CA")
struct IssuerCATests {
    func fetch(_ issuer: DevIssuer, caFile: String?) -> Bool {
        let published = Mutex(false)
        let settings = KeyRefreshSettings()
        let fetcher = KeyFetcher(sources: [.init(issuer: "\(issuer.baseURL)/\(TestIssuer.tenant)/v2.0",
                                                 location: .discovery(url: issuer.discoveryURL()), caFile: caFile)],
                                 settings: settings) { _, _ in published.withLock { $0 = true } }
        fetcher.start()
        fetcher.stop()
        return published.withLock { $0 }
    }

    @Test func keysOverHTTPSFromAPrivateCAAreFetchedOnlyWhenItIsTrusted() throws {
        let files = TestFiles.shared
        let issuer = try TestIssuer.start(extra: "tls: {cert: \(files.tlsCert), key: \(files.tlsKey)}")
        defer { issuer.stop() }
        #expect(fetch(issuer, caFile: files.tlsCert))
        #expect(!fetch(issuer, caFile: nil), "a certificate from an untrusted CA was accepted")
    }

    @Test func theCAKeyIsParsedAndRefusedForAFileSource() throws {
        let config = try PortcullisConfig.parse(yaml: """
        listeners: [{address: "127.0.0.1:1"}]
        upstream: {url: "http://127.0.0.1:2"}
        auth: {issuers: [{issuer: "https://i/", discovery_url: "https://i/.well-known/openid-configuration", audiences: [a], ca: /etc/ca.pem}]}
        """)
        #expect(config.auth?.issuers.first?.ca?.value == "/etc/ca.pem")
        #expect(throws: ConfigError.self) {
            try PortcullisConfig.parse(yaml: """
            listeners: [{address: "127.0.0.1:1"}]
            upstream: {url: "http://127.0.0.1:2"}
            auth: {issuers: [{issuer: "https://i/", jwks_file: /x.json, audiences: [a], ca: /etc/ca.pem}]}
            """)
        }
    }
}
