import Config
import DevIssuer
import Foundation
import IssuerTestSupport
import KeyFetcher
import Synchronization
import Testing
import Tokens

/// `auth.entra`: one tenant, application ID URI and client id stand for both token versions'
/// issuers, discovery URLs and audiences; a dev issuer plays Entra ID.
@Suite("Entra ID profile", .serialized)
struct EntraProfileTests {
    static func config(_ entra: String) throws -> PortcullisConfig {
        try PortcullisConfig.parse(yaml: """
        listeners: [{address: "127.0.0.1:1"}]
        upstream: {url: "http://127.0.0.1:2"}
        auth:
          entra: \(entra)
        """)
    }

    /// The profile's issuers with keys fetched through their discovery documents.
    static func validator(_ config: PortcullisConfig) throws -> (TokenValidator, KeySnapshot) {
        let auth = try #require(config.auth)
        let sets = Mutex<[String: KeySet]>([:])
        let fetcher = KeyFetcher(sources: auth.issuers.map { .init(issuer: $0.issuer, location: $0.keySource) },
                                 settings: auth.keys) { issuer, set in sets.withLock { $0[issuer] = set } }
        fetcher.start()
        fetcher.stop()
        return (TokenValidator(auth), KeySnapshot(sets: sets.withLock { $0 }))
    }

    static func validate(_ token: String, _ pair: (TokenValidator, KeySnapshot)) -> Result<Validated, TokenError> {
        Array(token.utf8).withUnsafeBytes { pair.0.validate(token: $0, keys: pair.1, now: Date().timeIntervalSince1970) }
    }

    @Test func v1AndV2TokensForTheAPIAreBothAcceptedAndAnotherTenantsAreNot() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        // service-c issues v1 tokens (aud = its URI), service-b v2 tokens (aud = its client id).
        let config = try Self.config("{tenant: \(TestIssuer.tenant), audience: \"api://service-c\", client_id: \(TestIssuer.serviceB), authority_host: \"\(issuer.baseURL)\"}")
        let issuers = try #require(config.auth?.issuers)
        #expect(issuers.map(\.issuer) == ["https://sts.windows.net/\(TestIssuer.tenant)/", "\(issuer.baseURL)/\(TestIssuer.tenant)/v2.0"])
        let check = try Self.validator(config)
        let v2 = try #require(accessToken(secretRequest(issuer)))
        let v1 = try #require(accessToken(secretRequest(issuer, scope: "api://service-c/.default")))
        #expect((try? Self.validate(v2, check).get())?.identity.applicationID == TestIssuer.serviceA)
        #expect((try? Self.validate(v1, check).get())?.identity.applicationID == TestIssuer.serviceA)

        // The same dev issuer as another tenant: its tokens name another issuer, and are refused.
        let other = try DevIssuer(settings: try DevIssuerSettings.parse(yaml: try TestIssuer.yaml()
            .replacingOccurrences(of: TestIssuer.tenant, with: "11111111-2222-4333-8444-555555555555")))
        try other.start()
        defer { other.stop() }
        let foreign = try #require(accessToken(secretRequest(other)))
        if case .failure(let error) = Self.validate(foreign, check) {
            #expect(error.code == "issuer_not_trusted")
        } else {
            Issue.record("another tenant's token was accepted")
        }

        // accept: [v2] alone refuses the v1 token.
        let v2Only = try Self.validator(try Self.config("{tenant: \(TestIssuer.tenant), audience: \"api://service-c\", client_id: \(TestIssuer.serviceB), authority_host: \"\(issuer.baseURL)\", accept: [v2]}"))
        #expect((try? Self.validate(v1, v2Only).get()) == nil)
        #expect((try? Self.validate(v2, v2Only).get()) != nil)
    }

    /// `organizations`: the issuers are Entra's `{tenantid}` templates, keyed by the
    /// multi-tenant discovery documents; a token is accepted only when its `iss` names its own
    /// `tid` and that tenant is allowed.
    @Test func multiTenantTemplatesAcceptOnlyAllowedTenantsNamingThemselves() throws {
        let otherTenant = "11111111-2222-4333-8444-555555555555"
        // Two tenants of one cloud share its signing keys, as Entra's tenants do.
        let shared = "signing_key: \(TestFiles.shared.clientKey)"
        let home = try TestIssuer.start(extra: shared)
        defer { home.stop() }
        let other = try DevIssuer(settings: try DevIssuerSettings.parse(yaml: try TestIssuer.yaml(extra: shared)
            .replacingOccurrences(of: TestIssuer.tenant, with: otherTenant)))
        try other.start()
        defer { other.stop() }

        func profile(_ allowed: [String]) -> String {
            "{tenant: organizations, audience: \"api://service-c\", client_id: \(TestIssuer.serviceB), authority_host: \"\(home.baseURL)\", allowed_tenants: [\(allowed.joined(separator: ", "))]}"
        }
        let config = try Self.config(profile([TestIssuer.tenant]))
        let issuers = try #require(config.auth?.issuers)
        #expect(issuers.map(\.issuer) == ["https://sts.windows.net/{tenantid}/", "\(home.baseURL)/{tenantid}/v2.0"])
        #expect(issuers.map(\.keySource) == [.discovery(url: "\(home.baseURL)/organizations/.well-known/openid-configuration"),
                                             .discovery(url: "\(home.baseURL)/organizations/v2.0/.well-known/openid-configuration")])
        let check = try Self.validator(config)
        #expect(check.1.sets.count == 2, "the multi-tenant discovery documents name the template issuers")

        let v1Home = try #require(accessToken(secretRequest(home, scope: "api://service-c/.default")))
        let v2Home = try #require(accessToken(secretRequest(home)))
        let v1Other = try #require(accessToken(secretRequest(other, scope: "api://service-c/.default")))
        #expect((try? Self.validate(v1Home, check).get())?.identity.tenantID == TestIssuer.tenant)
        #expect((try? Self.validate(v2Home, check).get())?.identity.tenantID == TestIssuer.tenant)
        func code(_ token: String, _ pair: (TokenValidator, KeySnapshot)) -> String? {
            if case .failure(let error) = Self.validate(token, pair) { return error.code }
            return nil
        }
        #expect(code(v1Other, check) == "tenant_not_allowed")
        // Allowing the other tenant admits its token with no other change.
        let both = try Self.validator(try Self.config(profile([TestIssuer.tenant, otherTenant])))
        #expect(code(v1Other, both) == nil)

        // A genuine signature over an `iss` of one tenant and a `tid` of another is refused.
        let kid = try #require(check.1.sets["https://sts.windows.net/{tenantid}/"]?.keys.first?.kid)
        let key = try SigningKey.load(LocatedValue(value: TestFiles.shared.clientKey, key: "test", line: nil))
        let now = Int(Date().timeIntervalSince1970)
        let mixed = try key.mint(claims: """
            {"iss":"https://sts.windows.net/\(TestIssuer.tenant)/","tid":"\(otherTenant)","aud":"api://service-c","appid":"\(TestIssuer.serviceA)","iat":\(now),"exp":\(now + 600)}
            """, kid: kid)
        #expect(code(mixed, both) == "issuer_tenant_mismatch")
    }

    @Test func profileErrorsNameTheKey() throws {
        func error(_ entra: String) -> String {
            do {
                _ = try Self.config(entra)
                return ""
            } catch {
                return "\(error)"
            }
        }
        #expect(error("{tenant: contoso, client_id: \(TestIssuer.serviceB)}").contains("auth.entra.tenant"))
        #expect(error("{tenant: organizations, client_id: \(TestIssuer.serviceB)}").contains("allowed_tenants"))
        #expect(error("{tenant: common, client_id: \(TestIssuer.serviceB), allowed_tenants: [contoso]}").contains("auth.entra.allowed_tenants"))
        #expect(error("{tenant: \(TestIssuer.tenant), client_id: \(TestIssuer.serviceB), allowed_tenants: [\(TestIssuer.tenant)]}").contains("auth.entra.allowed_tenants"))
        #expect(error("{tenant: consumers, client_id: \(TestIssuer.serviceB)}").contains("personal Microsoft accounts"))
        #expect(error("{tenant: \(TestIssuer.tenant)}").contains("client_id"))
        #expect(error("{tenant: \(TestIssuer.tenant), client_id: nope}").contains("auth.entra.client_id"))
        #expect(error("{tenant: \(TestIssuer.tenant), client_id: \(TestIssuer.serviceB), accept: [v3]}").contains("auth.entra.accept[0]"))
    }
}
