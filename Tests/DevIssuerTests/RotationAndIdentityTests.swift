import DevIssuer
import Foundation
import IssuerTestSupport
import Testing
import Tokens

/// Key rotation, the managed-identity endpoint, and https.
@Suite("Dev issuer rotation, managed identity and TLS", .serialized)
struct RotationAndIdentityTests {
    @Test func aRotationSignsWithANewKeyAndStillPublishesThePreviousOne() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let check = try IngressCheck(issuer: issuer.v2Issuer, discovery: issuer.discoveryURL(), audience: TestIssuer.serviceB)
        let before = try #require(accessToken(secretRequest(issuer)))
        let first = try #require(issuer.signingKeyIDs.first)
        let (current, previous) = try issuer.rotateKeys()
        #expect(previous == first)
        #expect(issuer.signingKeyIDs == [current, first])
        let after = try #require(accessToken(secretRequest(issuer)))
        #expect(try DecodedJWS(after).header["kid"]?.string == current)
        // The JWKS has both: a validator that refetches keeps accepting the old token too.
        let refreshed = try IngressCheck(issuer: issuer.v2Issuer, discovery: issuer.discoveryURL(), audience: TestIssuer.serviceB)
        #expect(throws: Never.self) { try refreshed.validate(before).get() }
        #expect(throws: Never.self) { try refreshed.validate(after).get() }
        // One that fetched before the rotation does not know the new kid, and says so.
        #expect(throws: TokenError.self) { try check.validate(after).get() }
        if case .failure(let error) = check.validate(after) { #expect(error.code == "unknown_kid") }
        // A second rotation drops the first key.
        let (third, _) = try issuer.rotateKeys()
        #expect(issuer.signingKeyIDs == [third, current])
    }

    @Test func theAdminCallRotatesFromLoopback() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let first = try #require(issuer.signingKeyIDs.first)
        let answer = TestHTTP.postRaw("\(issuer.baseURL)/admin/rotate", body: [], headers: [])
        #expect(answer.status == 200)
        #expect(answer.json?["previous"]?.string == first)
        #expect(answer.json?["kid"]?.string == issuer.signingKeyIDs.first)
        #expect(issuer.signingKeyIDs.count == 2)
        #expect(TestHTTP.get("\(issuer.baseURL)/admin/rotate").status == 405)
    }

    @Test func theManagedIdentityEndpointAnswersAsAppServiceDoes() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let url = "\(issuer.managedIdentityEndpoint)?api-version=2019-08-01&resource=api%3A%2F%2Fservice-b"
        let answer = TestHTTP.get(url, headers: ["X-IDENTITY-HEADER: \(TestIssuer.identityHeader)"])
        #expect(answer.status == 200, "\(answer.text)")
        let json = try #require(answer.json)
        #expect(json["token_type"]?.string == "Bearer")
        #expect(json["resource"]?.string == "api://service-b")
        #expect(json["client_id"]?.string == TestIssuer.serviceA)
        let expiresOn = try #require(json["expires_on"]?.string.flatMap { Double($0) })
        #expect(abs(expiresOn - Date().timeIntervalSince1970 - 3600) < 60)
        let c = try claims(try #require(json["access_token"]?.string))
        #expect(c["azp"]?.string == TestIssuer.serviceA)
        #expect(c["roles"] == .array([.string("Reader")]))

        #expect(TestHTTP.get(url).status == 401)
        #expect(TestHTTP.get(url, headers: ["X-IDENTITY-HEADER: wrong"]).status == 401)
        let header = ["X-IDENTITY-HEADER: \(TestIssuer.identityHeader)"]
        #expect(TestHTTP.get("\(issuer.managedIdentityEndpoint)?api-version=2017-09-01&resource=api%3A%2F%2Fservice-b", headers: header).status == 400)
        #expect(TestHTTP.get("\(issuer.managedIdentityEndpoint)?api-version=2019-08-01&resource=api%3A%2F%2Fservice-b%2F.default", headers: header).status == 400)
        #expect(TestHTTP.get("\(url)&client_id=\(TestIssuer.serviceX)", headers: header).status == 400)
        #expect(TestHTTP.get("\(url)&client_id=\(TestIssuer.serviceA)", headers: header).status == 200)
    }

    @Test func withACertificateItServesHTTPSAndItsURLsSayHTTPS() throws {
        let files = TestFiles.shared
        let issuer = try TestIssuer.start(extra: "tls: {cert: \(files.tlsCert), key: \(files.tlsKey)}")
        defer { issuer.stop() }
        #expect(issuer.baseURL.hasPrefix("https://127.0.0.1:"))
        let document = try #require(TestHTTP.get(issuer.discoveryURL(), caFile: files.tlsCert).json)
        #expect(document["token_endpoint"]?.string == issuer.tokenEndpoint)
        let answer = TestHTTP.post(issuer.tokenEndpoint, form: [
            ("grant_type", "client_credentials"), ("client_id", TestIssuer.serviceA), ("client_secret", TestIssuer.secretA),
            ("scope", "api://service-b/.default"),
        ], caFile: files.tlsCert)
        #expect(answer.status == 200)
        #expect(try claims(try #require(accessToken(answer)))["iss"]?.string == "\(issuer.baseURL)/\(TestIssuer.tenant)/v2.0")
        // Without trusting its certificate, a client refuses the connection.
        #expect(TestHTTP.get(issuer.discoveryURL()).status == 0)
    }
}
