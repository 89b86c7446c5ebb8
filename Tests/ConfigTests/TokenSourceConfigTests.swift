import Config
import Testing

/// `token_sources`: the issue's example reads as written, and each kind's mistakes are named.
@Suite("Token source configuration")
struct TokenSourceConfigTests {
    static func parse(_ sources: String) throws -> PortcullisConfig {
        try PortcullisConfig.parse(yaml: """
        listeners: [{address: "127.0.0.1:1"}]
        upstream: {url: "http://127.0.0.1:2"}
        token_sources:
        \(sources)
        """)
    }

    @Test func theIssuesExampleReads() throws {
        let config = try Self.parse("""
          service-a:
            kind: client_secret
            authority: https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/
            client_id: 00000000-0000-0000-0000-000000000000
            client_secret_file: /var/run/secrets/service-a/client-secret
          vm: {kind: imds}
          app: {kind: app_service_identity, client_id: 11111111-0000-0000-0000-000000000000}
          cert:
            kind: client_certificate
            authority: https://login.microsoftonline.com/t
            client_id: c
            client_certificate: {cert: a.crt, key: a.key}
          test: {kind: client_secret, endpoint: "http://127.0.0.1:9400/t/oauth2/v2.0/token", client_id: c, client_secret_file: s}
        """)
        let sources = config.tokenSources
        #expect(sources.map(\.name) == ["service-a", "vm", "app", "cert", "test"])
        #expect(sources[0].kind == .clientSecret)
        #expect(sources[0].tokenEndpoint == "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token")
        #expect(sources[0].clientSecretFile?.key == "token_sources.service-a.client_secret_file")
        #expect(sources[1].kind == .imds && sources[1].tokenEndpoint == nil)
        #expect(sources[2].clientID == "11111111-0000-0000-0000-000000000000")
        #expect(sources[3].clientCertificate?.key.value == "a.key")
        #expect(sources[4].tokenEndpoint == "http://127.0.0.1:9400/t/oauth2/v2.0/token")
        #expect(config.effectiveJSON.contains("\"token_sources\""))
        #expect(!config.effectiveJSON.contains("/var/run/secrets/service-a/client-secret"))
    }

    @Test(arguments: [
        ("  a: {kind: password}", "token_sources.a.kind", "not one of"),
        ("  a: {kind: client_secret, client_id: c, client_secret_file: s}", "token_sources.a", "needs 'authority'"),
        ("  a: {kind: client_secret, authority: \"https://x/t\", client_secret_file: s}", "token_sources.a", "needs 'client_id'"),
        ("  a: {kind: client_secret, authority: \"https://x/t\", client_id: c}", "token_sources.a", "needs 'client_secret_file'"),
        ("  a: {kind: client_secret, authority: \"http://login.example/t\", client_id: c, client_secret_file: s}",
         "token_sources.a.authority", "must be an https:// URL"),
        ("  a: {kind: client_certificate, authority: \"https://x/t\", client_id: c, client_secret_file: s}",
         "token_sources.a.client_secret_file", "does not use this key"),
        ("  a: {kind: imds, client_secret_file: s}", "token_sources.a.client_secret_file", "has no secret"),
        ("  a: {kind: imds, authority: \"https://x/t\"}", "token_sources.a.authority", "comes from the platform"),
        ("  a: {kind: imds, scope: x}", "token_sources.a.scope", "unknown key 'scope'"),
        ("  a:", "token_sources.a", "needs its settings"),
        ("  \"a b\": {kind: imds}", "token_sources.a b", "not a source name"),
    ])
    func mistakesAreNamed(yaml: String, key: String, reason: String) {
        #expect {
            _ = try Self.parse(yaml)
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.key == key && error.reason.contains(reason)
        }
    }
}
