import DevIssuer
import Foundation
import IssuerTestSupport
import Testing
import Tokens

/// Client credentials with a certificate: a signed client assertion (`private_key_jwt`).
@Suite("Dev issuer client assertions", .serialized)
struct ClientAssertionTests {
    struct Signer {
        let key: SigningKey
        let certificate: X509Certificate

        init(cert: String, key: String) throws {
            self.key = try SigningKey(pem: Array(try Data(contentsOf: URL(fileURLWithPath: key))))
            certificate = try X509Certificate(pem: Array(try Data(contentsOf: URL(fileURLWithPath: cert))))
        }

        static func clientA() throws -> Signer { try Signer(cert: TestFiles.shared.clientCert, key: TestFiles.shared.clientKey) }
    }

    /// An assertion as MSAL builds one, with the parts a test wants to get wrong replaceable.
    static func assertion(_ signer: Signer, audience: String, issuer: String = TestIssuer.serviceA, subject: String? = nil,
                          expiresIn: Int = 600, algorithm: JWSAlgorithm = .rs256, thumbprint: (String, String)? = nil) throws -> String {
        let now = Int(Date().timeIntervalSince1970)
        let claims: JSONValue = .object([
            ("aud", .string(audience)), ("iss", .string(issuer)), ("sub", .string(subject ?? issuer)),
            ("jti", .string(UUID().uuidString)), ("nbf", .number(Double(now))), ("iat", .number(Double(now))),
            ("exp", .number(Double(now + expiresIn))),
        ])
        let header = thumbprint ?? ("x5t#S256", signer.certificate.sha256Thumbprint)
        return try signer.key.mint(claims: claims.serialized, kid: nil, algorithm: algorithm, extraHeader: [(header.0, .string(header.1))])
    }

    static func request(_ issuer: DevIssuer, _ assertion: String, clientID: String? = TestIssuer.serviceA) -> TestHTTP.Answer {
        var form = [("grant_type", "client_credentials"), ("scope", "api://service-b/.default"),
                    ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"), ("client_assertion", assertion)]
        if let clientID { form.append(("client_id", clientID)) }
        return TestHTTP.post(issuer.tokenEndpoint, form: form)
    }

    @Test func anRS256AssertionNamingTheCertificateBySHA256GetsAToken() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let answer = Self.request(issuer, try Self.assertion(try .clientA(), audience: issuer.tokenEndpoint))
        #expect(answer.status == 200, "\(answer.text)")
        let c = try claims(try #require(accessToken(answer)))
        #expect(c["azp"]?.string == TestIssuer.serviceA)
        #expect(c["azpacr"]?.string == "2")
        #expect(c["roles"] == .array([.string("Reader")]))
    }

    @Test func aPS256AssertionWithTheSHA1ThumbprintAndNoClientIDWorks() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let signer = try Signer.clientA()
        let assertion = try Self.assertion(signer, audience: issuer.tokenEndpoint, algorithm: .ps256,
                                           thumbprint: ("x5t", signer.certificate.sha1Thumbprint))
        #expect(Self.request(issuer, assertion, clientID: nil).status == 200)
    }

    /// MSAL Python pads its thumbprints (`urlsafe_b64encode`), and Entra takes them: so does the
    /// dev issuer, but only with the padding the length calls for.
    @Test func paddedThumbprintsAsMSALPythonWritesThemAreAccepted() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let signer = try Signer.clientA()
        let sha256 = signer.certificate.sha256Thumbprint, sha1 = signer.certificate.sha1Thumbprint
        #expect((sha256.count + 1) % 4 == 0 && (sha1.count + 1) % 4 == 0, "both need one '=' to pad")
        for header in [("x5t#S256", sha256 + "="), ("x5t", sha1 + "=")] {
            let answer = Self.request(issuer, try Self.assertion(signer, audience: issuer.tokenEndpoint, thumbprint: header))
            #expect(answer.status == 200, "\(header.0): \(answer.text)")
        }
        for header in [("x5t#S256", sha256 + "=="), ("x5t#S256", sha256 + "====="), ("x5t", sha1 + "===")] {
            let answer = Self.request(issuer, try Self.assertion(signer, audience: issuer.tokenEndpoint, thumbprint: header))
            #expect(aadsts(answer) == 700027, "\(header.1): \(answer.text)")
        }
    }

    @Test func wrongAssertionsAreRefusedWithEntrasCodes() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let signer = try Signer.clientA()
        let other = try Signer(cert: TestFiles.shared.otherCert, key: TestFiles.shared.otherKey)
        let endpoint = issuer.tokenEndpoint
        let cases: [(String, Int)] = [
            // Signed by a key whose certificate is not registered for the client.
            (try Self.assertion(other, audience: endpoint), 700027),
            // Names the registered certificate, signed by another key.
            (try Self.assertion(other, audience: endpoint, thumbprint: ("x5t#S256", signer.certificate.sha256Thumbprint)), 700027),
            (try Self.assertion(signer, audience: "https://elsewhere.example/token"), 700023),
            (try Self.assertion(signer, audience: endpoint, expiresIn: -600), 700024),
            (try Self.assertion(signer, audience: endpoint, subject: TestIssuer.serviceX), 700021),
            (try Self.assertion(signer, audience: endpoint, algorithm: .rs384), 5002738),
            ("not.a.jwt", 50027),
        ]
        for (assertion, code) in cases {
            let answer = Self.request(issuer, assertion)
            #expect(answer.status == 401 || answer.status == 400)
            #expect(aadsts(answer) == code, "\(answer.text)")
        }
        // A client id that differs from the assertion's issuer.
        #expect(aadsts(Self.request(issuer, try Self.assertion(signer, audience: endpoint), clientID: TestIssuer.serviceX)) == 700021)
    }

    @Test func portcullisAcceptsTokensGotWithACertificate() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let check = try IngressCheck(issuer: issuer.v2Issuer, discovery: issuer.discoveryURL(), audience: TestIssuer.serviceB,
                                     requiredRoles: ["Reader"])
        let token = try #require(accessToken(Self.request(issuer, try Self.assertion(try .clientA(), audience: issuer.tokenEndpoint))))
        #expect(try check.validate(token).get().identity.applicationID == TestIssuer.serviceA)
    }
}
