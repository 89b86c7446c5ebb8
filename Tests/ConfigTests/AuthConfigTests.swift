import Testing
@testable import Config

@Suite("auth section")
struct AuthConfigTests {
    static let head = """
    listeners: [{address: "127.0.0.1:1"}]
    upstream: {url: "http://127.0.0.1:2"}

    """

    func parse(_ auth: String) throws(ConfigError) -> AuthSettings? {
        try PortcullisConfig.parse(yaml: Self.head + auth).auth
    }

    func failure(_ auth: String) -> ConfigError? {
        do { _ = try parse(auth); return nil } catch { return error }
    }

    @Test func parsesTheDocumentedShape() throws {
        let auth = try #require(try parse("""
        auth:
          unauthenticated_action: allow_anonymous
          excluded_paths: [/healthz, /public/*]
          clock_skew: 30s
          issuers:
            - issuer: https://login.microsoftonline.com/t/v2.0
              discovery_url: https://login.microsoftonline.com/t/v2.0/.well-known/openid-configuration
              audiences: [api://service-b]
            - issuer: https://sts.windows.net/t/
              jwks_file: config/jwks.json
              audiences: [api://service-b, abc]
              algorithms: [RS256, ES256]
          authorization:
            allowed_applications: [11111111-2222-3333-4444-555555555555]
            required_roles: [Data.Read]
          identity_headers: none
          claim_headers: {X-Caller-App: azp}
        """))
        #expect(auth.unauthenticatedAction == .allowAnonymous)
        #expect(auth.excludedPaths == ["/healthz", "/public/*"])
        #expect(auth.clockSkew == .seconds(30))
        #expect(auth.issuers[0].algorithms == ["RS256"])
        #expect(auth.issuers[0].keySource == .discovery(url: "https://login.microsoftonline.com/t/v2.0/.well-known/openid-configuration"))
        #expect(auth.issuers[1].keySource == .jwksFile(path: "config/jwks.json"))
        #expect(auth.authorization.roles == RequiredValues(allOf: ["Data.Read"]))
        #expect(auth.identityHeaders == IdentityHeadersAlias.none)
        #expect(auth.claimHeaders.first?.header == "x-caller-app")
        #expect(auth.claimHeaders.first?.claim == "azp")
    }

    @Test func keySourceMustBeExactlyOne() {
        let two = failure("auth: {issuers: [{issuer: i, jwks_file: a, jwks_url: 'https://x/', audiences: [a]}]}")
        #expect(two?.key == "auth.issuers[0]")
        #expect(two?.reason.contains("exactly one") == true)
        #expect(failure("auth: {issuers: [{issuer: i, audiences: [a]}]}")?.reason.contains("exactly one") == true)
    }

    @Test func plainHTTPKeysOnlyFromLoopback() {
        #expect(failure("auth: {issuers: [{issuer: i, jwks_url: 'http://idp.example/keys', audiences: [a]}]}")?.key == "auth.issuers[0].jwks_url")
        #expect(failure("auth: {issuers: [{issuer: i, jwks_url: 'http://127.0.0.1:9/keys', audiences: [a]}]}") == nil)
    }

    @Test func algorithmsAndSecrets() {
        #expect(failure("auth: {issuers: [{issuer: i, jwks_file: f, audiences: [a], algorithms: [none]}]}")?.key == "auth.issuers[0].algorithms[0]")
        #expect(failure("auth: {issuers: [{issuer: i, jwks_file: f, audiences: [a], algorithms: [HS256]}]}")?.reason.contains("hmac_secret_file") == true)
        #expect(failure("auth: {issuers: [{issuer: i, jwks_file: f, audiences: [a], hmac_secret_file: s}]}")?.key == "auth.issuers[0].hmac_secret_file")
    }

    @Test func audiencesAndIssuersAreRequired() {
        #expect(failure("auth: {issuers: [{issuer: i, jwks_file: f, audiences: []}]}")?.key == "auth.issuers[0].audiences")
        #expect(failure("auth: {issuers: []}")?.key == "auth.issuers")
        #expect(failure("auth: {issuers: [{issuer: i, jwks_file: f, audiences: [a]}, {issuer: i, jwks_file: g, audiences: [a]}]}")?.key == "auth.issuers[1]")
        // A template would never equal a token's iss; say where multi-tenant lives instead.
        #expect(failure("auth: {issuers: [{issuer: 'https://sts.windows.net/{tenantid}/', jwks_file: f, audiences: [a]}]}")?.reason.contains("auth.entra") == true)
    }

    @Test func claimHeadersCannotForgeIdentity() {
        #expect(failure("auth: {issuers: [{issuer: i, jwks_file: f, audiences: [a]}], claim_headers: {X-MS-CLIENT-PRINCIPAL-ID: oid}}")?.reason.contains("reserved") == true)
        #expect(failure("auth: {issuers: [{issuer: i, jwks_file: f, audiences: [a]}], claim_headers: {'bad header': oid}}")?.reason.contains("not a valid header") == true)
    }

    @Test func badValuesNameTheirKeys() {
        #expect(failure("auth: {issuers: [{issuer: i, jwks_file: f, audiences: [a]}], unauthenticated_action: maybe}")?.key == "auth.unauthenticated_action")
        #expect(failure("auth: {issuers: [{issuer: i, jwks_file: f, audiences: [a]}], excluded_paths: [healthz]}")?.key == "auth.excluded_paths[0]")
        #expect(failure("auth: {issuers: [{issuer: i, jwks_file: f, audiences: [a]}], keys: {min_refresh: 2h, max_refresh: 1h}}")?.key == "auth.keys")
        #expect(failure("auth: {issuers: [{issuer: i, jwks_file: f, audiences: [a]}], authorization: {roles: [x]}}")?.key == "auth.authorization.roles")
    }
}

typealias IdentityHeadersAlias = AuthSettings.IdentityHeaders
