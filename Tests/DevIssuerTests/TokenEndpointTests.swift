import DevIssuer
import Foundation
import IssuerTestSupport
import Testing
import Tokens

/// The client credentials grant with a secret, and Entra's answers when it is refused.
@Suite("Dev issuer token endpoint", .serialized)
struct TokenEndpointTests {
    @Test func aClientWithItsSecretGetsAV2Token() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let answer = secretRequest(issuer)
        #expect(answer.status == 200)
        let json = try #require(answer.json)
        #expect(json["token_type"]?.string == "Bearer")
        #expect(json["expires_in"]?.number == 3600)
        #expect(json["ext_expires_in"]?.number == 3600)
        let token = try #require(json["access_token"]?.string)
        let decoded = try DecodedJWS(token)
        #expect(decoded.algorithm == .rs256)
        #expect(decoded.header["kid"]?.string == issuer.signingKeyIDs.first)
        let c = decoded.claims
        #expect(c["ver"]?.string == "2.0")
        #expect(c["iss"]?.string == issuer.v2Issuer)
        #expect(c["aud"]?.string == TestIssuer.serviceB)
        #expect(c["azp"]?.string == TestIssuer.serviceA)
        #expect(c["azpacr"]?.string == "1")
        #expect(c["appid"] == nil)
        #expect(c["tid"]?.string == TestIssuer.tenant)
        #expect(c["roles"] == .array([.string("Reader")]))
        #expect(c["sub"] == c["oid"])
        let iat = try #require(c["iat"]?.number), exp = try #require(c["exp"]?.number)
        #expect(exp - iat == 3600)
        #expect(c["nbf"]?.number == iat)
        #expect(abs(iat - Date().timeIntervalSince1970) < 60)
        #expect(issuer.tokenRequests == 1)
    }

    @Test func v1TokensCarryTheURIAsAudienceAndAppid() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let c = try claims(try #require(accessToken(secretRequest(issuer, scope: "api://service-c/.default"))))
        #expect(c["ver"]?.string == "1.0")
        #expect(c["iss"]?.string == "https://sts.windows.net/\(TestIssuer.tenant)/")
        #expect(c["aud"]?.string == "api://service-c")
        #expect(c["appid"]?.string == TestIssuer.serviceA)
        #expect(c["appidacr"]?.string == "1")
        #expect(c["azp"] == nil)
        #expect(c["roles"] == nil)
    }

    @Test func theObjectIDIsStablePerClient() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let first = try claims(try #require(accessToken(secretRequest(issuer))))
        let second = try claims(try #require(accessToken(secretRequest(issuer, scope: "api://service-c/.default"))))
        let other = try claims(try #require(accessToken(secretRequest(issuer, scope: "api://service-c/.default",
                                                                      secret: TestIssuer.secretX, client: TestIssuer.serviceX))))
        #expect(first["oid"] == second["oid"])
        #expect(first["oid"] != other["oid"])
    }

    @Test func theV1EndpointTakesAResourceAndAnswersInStrings() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let answer = TestHTTP.post("\(issuer.authority)/oauth2/token", form: [
            ("grant_type", "client_credentials"), ("client_id", TestIssuer.serviceA), ("client_secret", TestIssuer.secretA),
            ("resource", "api://service-b"),
        ])
        #expect(answer.status == 200)
        let json = try #require(answer.json)
        #expect(json["expires_in"]?.string == "3600")
        #expect(json["resource"]?.string == "api://service-b")
        // The application asks for v2 tokens: the endpoint does not decide the shape.
        #expect(try claims(try #require(json["access_token"]?.string))["ver"]?.string == "2.0")
    }

    @Test func httpBasicCredentialsWork() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let basic = Data("\(TestHTTP.encode(TestIssuer.serviceA)):\(TestHTTP.encode(TestIssuer.secretA))".utf8).base64EncodedString()
        let answer = TestHTTP.post(issuer.tokenEndpoint, form: [("grant_type", "client_credentials"), ("scope", "api://service-b/.default")],
                                   headers: ["Authorization: Basic \(basic)"])
        #expect(answer.status == 200)
        #expect(accessToken(answer) != nil)
    }

    @Test(arguments: [
        // (form overrides, status, AADSTS code, OAuth error)
        ([("client_secret", "wrong")], 401, 7000215, "invalid_client"),
        ([("client_id", "99999999-0000-0000-0000-000000000000")], 400, 700016, "unauthorized_client"),
        ([("client_secret", TestIssuer.secretX), ("client_id", TestIssuer.serviceX)], 400, 501051, "invalid_grant"),
        ([("scope", "api://service-b")], 400, 1002012, "invalid_scope"),
        ([("scope", "api://service-b/.default api://service-c/.default")], 400, 70011, "invalid_scope"),
        ([("scope", "api://unknown/.default")], 400, 500011, "invalid_resource"),
        ([("grant_type", "password")], 400, 70003, "unsupported_grant_type"),
        ([("client_secret", "")], 401, 7000215, "invalid_client"),
    ] as [([(String, String)], Int, Int, String)])
    func refusalsAreEntras(overrides: [(String, String)], status: Int, code: Int, error: String) throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        var form = [("grant_type", "client_credentials"), ("client_id", TestIssuer.serviceA), ("client_secret", TestIssuer.secretA),
                    ("scope", "api://service-b/.default")]
        for (name, value) in overrides {
            if let i = form.firstIndex(where: { $0.0 == name }) { form[i].1 = value } else { form.append((name, value)) }
        }
        let answer = TestHTTP.post(issuer.tokenEndpoint, form: form, headers: ["client-request-id: 0f0f0f0f-1111-2222-3333-444444444444"])
        #expect(answer.status == status)
        let json = try #require(answer.json)
        #expect(aadsts(answer) == code)
        #expect(json["error"]?.string == error)
        #expect(json["error_description"]?.string?.hasPrefix("AADSTS\(code): ") == true)
        #expect(json["correlation_id"]?.string == "0f0f0f0f-1111-2222-3333-444444444444")
        #expect(json["trace_id"]?.string?.count == 36)
        #expect(json["timestamp"]?.string?.hasSuffix("Z") == true)
        #expect(json["access_token"] == nil)
    }

    @Test func malformedRequestsAreRefused() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let form = "Content-Type: application/x-www-form-urlencoded"
        // No credential at all.
        #expect(aadsts(TestHTTP.post(issuer.tokenEndpoint, form: [("grant_type", "client_credentials"), ("client_id", TestIssuer.serviceA),
                                                                  ("scope", "api://service-b/.default")])) == 7000218)
        // A parameter twice, a bad escape, a body that is not a form.
        #expect(aadsts(TestHTTP.postRaw(issuer.tokenEndpoint, body: Array("grant_type=client_credentials&grant_type=x".utf8), headers: [form])) == 9002313)
        #expect(aadsts(TestHTTP.postRaw(issuer.tokenEndpoint, body: Array("grant_type=%zz".utf8), headers: [form])) == 9002313)
        #expect(aadsts(TestHTTP.postRaw(issuer.tokenEndpoint, body: Array("{}".utf8), headers: ["Content-Type: application/json"])) == 900144)
        // GET on the token endpoint.
        #expect(aadsts(TestHTTP.get(issuer.tokenEndpoint)) == 900561)
        // Both a secret and Basic credentials.
        let basic = Data("\(TestIssuer.serviceA):x".utf8).base64EncodedString()
        #expect(aadsts(TestHTTP.post(issuer.tokenEndpoint, form: [("grant_type", "client_credentials"), ("client_secret", "x"),
                                                                  ("scope", "api://service-b/.default")],
                                     headers: ["Authorization: Basic \(basic)"])) == 9002313)
    }

    @Test func theFormParserIsStrict() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let headers = ["Content-Type: application/x-www-form-urlencoded; charset=utf-8"]
        for body in ["a=1&&b=2", "a=1&", "=1", "a", "a=%4", "a=\u{7f}", "a=%ff"] {
            #expect(aadsts(TestHTTP.postRaw(issuer.tokenEndpoint, body: Array(body.utf8), headers: headers)) == 9002313, "\(body)")
        }
        // '+' is a space and escapes decode: a secret with '+', '=' and '/' arrives intact.
        #expect(secretRequest(issuer).status == 200)
    }
}
