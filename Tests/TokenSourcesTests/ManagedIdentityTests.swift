import Config
import DevIssuer
import Foundation
import IssuerTestSupport
import Testing
import TestSupport
import Tokens
@testable import TokenSources

/// The platform kinds: App Service's identity endpoint (the dev issuer plays it), IMDS (a
/// canned loopback answer), and workload identity's request.
@Suite("Managed and workload identity sources", .serialized)
struct ManagedIdentityTests {
    @Test func appServiceIdentityGetsATokenForTheScopesResource() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let environment = ["IDENTITY_ENDPOINT": issuer.managedIdentityEndpoint, "IDENTITY_HEADER": TestIssuer.identityHeader]
        let sources = try Sources.settings("token_sources:\n  mi: {kind: app_service_identity}\n")
        let provider = try TokenProvider(sources: sources, environment: { environment[$0] })
        defer { provider.stop() }
        #expect(try Sources.start(provider, "mi"), "\(provider.unready)")
        let token = try #require(provider.current(source: "mi", scope: Sources.scopeB).token)
        let claims = try DecodedJWS(token).claims
        #expect(claims["azp"]?.string == TestIssuer.serviceA)
        #expect(claims["aud"]?.string == TestIssuer.serviceB)
        #expect(issuer.tokenRequests == 1)
    }

    @Test func appServiceIdentityNeedsItsEnvironment() throws {
        let sources = try Sources.settings("token_sources:\n  mi: {kind: app_service_identity}\n")
        #expect {
            _ = try TokenProvider(sources: sources, environment: { $0 == "IDENTITY_ENDPOINT" ? "http://127.0.0.1:1/msi/token" : nil })
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.key == "token_sources.mi" && error.reason.contains("IDENTITY_HEADER")
        }
    }

    @Test func imdsAnswersWithStringsAndTheTokenIsUsed() throws {
        let server = TestHTTPServer()
        defer { server.stop() }
        let path = "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=api%3A%2F%2Fservice-b"
        let expiresOn = Int(Date().timeIntervalSince1970) + 3599
        server.set(path, .init(body: Array("""
        {"access_token":"imds-token-1","refresh_token":"","expires_in":"3599","expires_on":"\(expiresOn)","not_before":"0",\
        "resource":"api://service-b","token_type":"Bearer"}
        """.utf8)))
        let sources = try Sources.settings("""
        token_sources:
          vm: {kind: imds, endpoint: "\(server.url("/metadata/identity/oauth2/token"))"}
        """)
        let provider = try TokenProvider(sources: sources)
        defer { provider.stop() }
        #expect(try Sources.start(provider, "vm"), "\(provider.unready)")
        #expect(provider.current(source: "vm", scope: Sources.scopeB) == .token("imds-token-1"))
        #expect(server.count(path) == 1)
    }

    @Test func theManagedIdentityRequestsCarryTheirHeadersAndResource() throws {
        let appService = AppServiceIdentityCredential(endpoint: "http://127.0.0.1:41741/msi/token/", identityHeader: "h",
                                                      clientID: "user-assigned", caFile: nil)
        let request = try appService.request(scope: "api://service-b/.default", wallNow: 0)
        #expect(request.url == "http://127.0.0.1:41741/msi/token/?api-version=2019-08-01&resource=api%3A%2F%2Fservice-b&client_id=user-assigned")
        #expect(request.headers.contains("X-IDENTITY-HEADER: h"))
        #expect(request.method == .get)
        let imds = try IMDSCredential(endpoint: IMDSCredential.defaultEndpoint, clientID: nil, caFile: nil)
            .request(scope: "https://vault.azure.net/.default", wallNow: 0)
        #expect(imds.url == "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net")
        #expect(imds.headers.contains("Metadata: true"))
    }

    @Test func workloadIdentitySendsTheFederatedTokenAsTheAssertion() throws {
        let file = try TestFiles.shared.write("federated-\(UUID().uuidString)", "eyJfederated.token.value\n")
        let environment = ["AZURE_FEDERATED_TOKEN_FILE": file, "AZURE_CLIENT_ID": "cid", "AZURE_TENANT_ID": "tid",
                           "AZURE_AUTHORITY_HOST": "https://login.example.net"]
        let settings = try #require(try Sources.settings("token_sources:\n  wi: {kind: workload_identity}\n").first)
        let credential = try CredentialFactory.make(settings, environment: { environment[$0] })
        let request = try credential.request(scope: "api://service-b/.default", wallNow: 0)
        #expect(request.url == "https://login.example.net/tid/oauth2/v2.0/token")
        let body = String(decoding: request.body, as: UTF8.self)
        #expect(body.contains("client_assertion=eyJfederated.token.value&") || body.hasSuffix("client_assertion=eyJfederated.token.value"))
        #expect(body.contains("client_id=cid"))
        #expect(body.contains("client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"))
    }
}
