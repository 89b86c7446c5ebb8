import DevIssuer
import IssuerTestSupport
import Testing
import Tokens

/// What validators read: the discovery documents in Entra's two forms and the keys they name.
@Suite("Dev issuer discovery and keys", .serialized)
struct DiscoveryTests {
    @Test func theV2DocumentNamesTheV2IssuerAndItsEndpoints() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let answer = TestHTTP.get(issuer.discoveryURL())
        #expect(answer.status == 200)
        let document = try #require(answer.json)
        let root = "\(issuer.baseURL)/\(TestIssuer.tenant)"
        #expect(document["issuer"]?.string == "\(root)/v2.0")
        #expect(document["token_endpoint"]?.string == "\(root)/oauth2/v2.0/token")
        #expect(document["authorization_endpoint"]?.string == "\(root)/oauth2/v2.0/authorize")
        #expect(document["jwks_uri"]?.string == "\(root)/discovery/v2.0/keys")
        #expect(issuer.v2Issuer == "\(root)/v2.0")
    }

    @Test func theV1DocumentNamesStsWindowsNet() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let document = try #require(TestHTTP.get(issuer.discoveryURL(v2: false)).json)
        let root = "\(issuer.baseURL)/\(TestIssuer.tenant)"
        #expect(document["issuer"]?.string == "https://sts.windows.net/\(TestIssuer.tenant)/")
        #expect(document["token_endpoint"]?.string == "\(root)/oauth2/token")
        #expect(document["authorization_endpoint"]?.string == "\(root)/oauth2/authorize")
        #expect(document["jwks_uri"]?.string == "\(root)/discovery/keys")
    }

    @Test func theJWKSHoldsTheSigningKeyUnderEveryPathEntraUses() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        for path in ["\(TestIssuer.tenant)/discovery/v2.0/keys", "\(TestIssuer.tenant)/discovery/keys", "common/discovery/keys"] {
            let answer = TestHTTP.get("\(issuer.baseURL)/\(path)")
            #expect(answer.status == 200, "\(path)")
            let set = try KeySet.parse(jwks: answer.body)
            #expect(set.keys.map(\.kid) == issuer.signingKeyIDs, "\(path)")
        }
    }

    @Test func anotherTenantIsNotFound() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let answer = TestHTTP.get("\(issuer.baseURL)/00000000-0000-0000-0000-000000000000/v2.0/.well-known/openid-configuration")
        #expect(answer.status == 400)
        #expect(aadsts(answer) == 90002)
        #expect(TestHTTP.get("\(issuer.authority)/nothing/here").status == 404)
    }

    /// The point of the dev issuer: what it issues, Portcullis accepts, with the issuer and
    /// audience configured as for Entra and the roles from the assignment.
    @Test func portcullisAcceptsItsV2TokensWithRoles() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let check = try IngressCheck(issuer: issuer.v2Issuer, discovery: issuer.discoveryURL(), audience: TestIssuer.serviceB,
                                     requiredRoles: ["Reader"])
        let token = try #require(accessToken(secretRequest(issuer)))
        let identity = try check.validate(token).get().identity
        #expect(identity.applicationID == TestIssuer.serviceA)
        #expect(identity.roles == ["Reader"])
        #expect(identity.tenantID == TestIssuer.tenant)
        #expect(identity.objectID != nil)
    }

    @Test func portcullisAcceptsItsV1TokensThroughTheV1Discovery() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let check = try IngressCheck(issuer: issuer.v1Issuer, discovery: issuer.discoveryURL(v2: false), audience: "api://service-c")
        let token = try #require(accessToken(secretRequest(issuer, scope: "api://service-c/.default")))
        let identity = try check.validate(token).get().identity
        #expect(identity.applicationID == TestIssuer.serviceA)
        #expect(identity.roles.isEmpty)
    }

    @Test func aRoleTheClientLacksIsRefusedByPortcullis() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let check = try IngressCheck(issuer: issuer.v2Issuer, discovery: issuer.discoveryURL(), audience: TestIssuer.serviceB,
                                     requiredRoles: ["Writer"])
        let token = try #require(accessToken(secretRequest(issuer)))
        #expect(throws: TokenError.self) { try check.validate(token).get() }
    }
}
