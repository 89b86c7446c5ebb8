import Config
import Testing
@testable import Tokens

/// Hostile tokens, each refused for its own reason, and the happy path.
@Suite("Token validation")
struct ValidationTests {
    static let issuer = "https://login.microsoftonline.com/tenant/v2.0"
    static let now = 1_800_000_000.0

    struct Setup {
        let validator: TokenValidator
        /// `auth.authorization`, checked after authentication as the proxy does.
        let requirement: AuthorizationRequirement
        let keys: KeySnapshot
        let rsa: SigningKey
        let ec: SigningKey
        let ed: SigningKey
    }

    static func setup(_ extra: String = "", algorithms: String = "[RS256, ES256, EdDSA, HS256]", hmac: Bool = true) throws -> Setup {
        let rsa = try Fixtures.signingKey("rsa2048")
        let ec = try Fixtures.signingKey("p256")
        let ed = try Fixtures.signingKey("ed25519")
        let jwks = Array(JSONValue.object([("keys", .array([rsa.publicJWK(kid: "rsa1"), ec.publicJWK(kid: "ec1"), ed.publicJWK(kid: "ed1")]))]).serialized.utf8)
        let config = try PortcullisConfig.parse(yaml: """
        listeners: [{address: "127.0.0.1:1"}]
        upstream: {url: "http://127.0.0.1:2"}
        auth:
          issuers:
            - issuer: \(issuer)
              jwks_file: unused.json
              audiences: [api://service-b, 22222222-0000-0000-0000-000000000000]
              algorithms: \(algorithms)
              \(hmac ? "hmac_secret_file: unused.secret" : "")
        \(extra)
        """)
        let auth = try #require(config.auth)
        let validator = TokenValidator(auth, secrets: [issuer: Array(repeating: 7, count: 32)])
        return Setup(validator: validator, requirement: AuthorizationRequirement(auth.authorization), keys: KeySnapshot(sets: [issuer: try KeySet.parse(jwks: jwks)]), rsa: rsa, ec: ec, ed: ed)
    }

    static func claims(_ overrides: [String: String] = [:], drop: [String] = []) -> String {
        var members: [(String, String)] = [
            ("iss", "\"\(issuer)\""), ("aud", "\"api://service-b\""), ("exp", "\(Int(now) + 3600)"),
            ("nbf", "\(Int(now) - 60)"), ("iat", "\(Int(now) - 60)"), ("azp", "\"11111111-2222-3333-4444-555555555555\""),
            ("oid", "\"aaaaaaaa-0000-0000-0000-000000000001\""), ("tid", "\"tenant\""), ("roles", "[\"Data.Read\"]"),
        ]
        members = members.filter { !drop.contains($0.0) }
        for (key, value) in overrides {
            if let i = members.firstIndex(where: { $0.0 == key }) { members[i].1 = value } else { members.append((key, value)) }
        }
        return "{" + members.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    /// Signs arbitrary header and payload text (so tests can send what a library would not).
    static func raw(header: String, payload: String, with key: SigningKey, alg: JWSAlgorithm) throws -> String {
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8))
        return input + "." + Base64URL.encode(try key.sign(Array(input.utf8), alg))
    }

    func check(_ s: Setup, _ token: String, at now: Double = ValidationTests.now) -> Result<Validated, TokenError> {
        var token = token
        return token.withUTF8 { s.validator.validate(token: UnsafeRawBufferPointer($0), keys: s.keys, now: now) }
            .flatMap(s.requirement.authorize)
    }

    func code(_ s: Setup, _ token: String, at now: Double = ValidationTests.now) -> String {
        switch check(s, token, at: now) {
        case .success: "ok"
        case .failure(let error): error.code
        }
    }

    @Test func validTokensOfEachKeyType() throws {
        let s = try Self.setup()
        #expect(code(s, try s.rsa.mint(claims: Self.claims(), kid: "rsa1")) == "ok")
        #expect(code(s, try s.ec.mint(claims: Self.claims(), kid: "ec1")) == "ok")
        #expect(code(s, try s.ed.mint(claims: Self.claims(), kid: "ed1")) == "ok")
        let identity = try check(s, try s.rsa.mint(claims: Self.claims(), kid: "rsa1")).get().identity
        #expect(identity.applicationID == "11111111-2222-3333-4444-555555555555")
        #expect(identity.roles == ["Data.Read"])
    }

    @Test func algNoneInAnyCaseIsRefused() throws {
        let s = try Self.setup()
        for alg in ["none", "None", "NONE", "nOnE"] {
            let token = Base64URL.encode(Array("{\"alg\":\"\(alg)\"}".utf8)) + "." + Base64URL.encode(Array(Self.claims().utf8)) + "."
            #expect(code(s, token) == "alg_not_allowed", "\(alg)")
        }
    }

    @Test func hs256SignedWithTheRSAPublicKeyIsRefused() throws {
        let s = try Self.setup()
        // The classic confusion attack: the RSA public key (as JWK text) used as an HMAC secret.
        let publicKeyText = Array(s.rsa.publicJWK(kid: "rsa1").serialized.utf8)
        let input = Base64URL.encode(Array("{\"alg\":\"HS256\",\"kid\":\"rsa1\"}".utf8)) + "." + Base64URL.encode(Array(Self.claims().utf8))
        let mac = HMACTestHelper.sha256(key: publicKeyText, message: Array(input.utf8))
        let token = input + "." + Base64URL.encode(mac)
        // The issuer's HMAC secret is its own configured one; the RSA key can never act as one.
        #expect(code(s, token) == "bad_signature")
        let noSecret = try Self.setup(algorithms: "[RS256, HS256]", hmac: true)
        #expect(code(noSecret, token) == "bad_signature")
        let rsOnly = try Self.setup(algorithms: "[RS256]", hmac: false)
        #expect(code(rsOnly, token) == "alg_not_allowed")
    }

    @Test func ecdsaZeroAndDERSignaturesAreRefused() throws {
        let s = try Self.setup()
        let input = Base64URL.encode(Array("{\"alg\":\"ES256\",\"kid\":\"ec1\"}".utf8)) + "." + Base64URL.encode(Array(Self.claims().utf8))
        #expect(code(s, input + "." + Base64URL.encode([UInt8](repeating: 0, count: 64))) == "bad_signature")
        // A DER-encoded ECDSA signature (what OpenSSL produces natively) is not JWS.
        let raw = try s.ec.sign(Array(input.utf8), .es256)
        let der = try #require(raw.withUnsafeBytes { SignatureVerifier.ecdsaDER(.es256, $0) })
        #expect(code(s, input + "." + Base64URL.encode(der)) == "bad_signature")
        #expect(code(s, input + "." + Base64URL.encode(raw)) == "ok")
    }

    @Test func keySelectionIsByKidFromTheIssuersSetOnly() throws {
        let s = try Self.setup()
        #expect(code(s, try s.rsa.mint(claims: Self.claims(), kid: "nope")) == "unknown_kid")
        if case .failure(let error) = check(s, try s.rsa.mint(claims: Self.claims(), kid: "nope")) {
            #expect(error.refetchIssuer == Self.issuer)
        }
        // Key type / alg mismatch: an RS256 header naming the EC key.
        let mismatch = try Self.raw(header: "{\"alg\":\"RS256\",\"kid\":\"ec1\"}", payload: Self.claims(), with: s.rsa, alg: .rs256)
        #expect(code(s, mismatch) == "key_alg_mismatch")
        // ES256 on a P-256 key with alg ES256 is fine; PS256 on the RS256-marked key is not.
        let ps = try Self.raw(header: "{\"alg\":\"PS256\",\"kid\":\"rsa1\"}", payload: Self.claims(), with: s.rsa, alg: .ps256)
        let psSetup = try Self.setup(algorithms: "[RS256, PS256]", hmac: false)
        #expect(code(psSetup, ps) == "key_alg_mismatch")
    }

    @Test func embeddedKeysAreIgnored() throws {
        let s = try Self.setup()
        // An attacker's own key in jwk/jku/x5c: the token is judged by the configured key alone.
        let attacker = try Fixtures.signingKey("p384")
        let header = "{\"alg\":\"ES256\",\"kid\":\"ec1\",\"jwk\":\(attacker.publicJWK(kid: "ec1").serialized),\"jku\":\"https://evil.example/keys\",\"x5c\":[\"MIIB\"]}"
        let forged = try Self.raw(header: header.replacingOccurrences(of: "ES256", with: "ES384"), payload: Self.claims(), with: attacker, alg: .es384)
        #expect(code(s, forged) != "ok")
        let honest = try Self.raw(header: header, payload: Self.claims(), with: s.ec, alg: .es256)
        #expect(code(s, honest) == "ok")
    }

    @Test func timeClaims() throws {
        let s = try Self.setup()
        #expect(code(s, try s.rsa.mint(claims: Self.claims(["exp": "\(Int(Self.now) - 120)"]), kid: "rsa1")) == "token_expired")
        // Within the default 60 s skew an expired token still passes.
        #expect(code(s, try s.rsa.mint(claims: Self.claims(["exp": "\(Int(Self.now) - 30)"]), kid: "rsa1")) == "ok")
        #expect(code(s, try s.rsa.mint(claims: Self.claims(["nbf": "\(Int(Self.now) + 600)"]), kid: "rsa1")) == "token_not_yet_valid")
        #expect(code(s, try s.rsa.mint(claims: Self.claims(["iat": "\(Int(Self.now) + 600)"]), kid: "rsa1")) == "iat_in_future")
        #expect(code(s, try s.rsa.mint(claims: Self.claims(drop: ["exp"]), kid: "rsa1")) == "missing_exp")
        #expect(code(s, try s.rsa.mint(claims: Self.claims(["exp": "\"1900000000\""]), kid: "rsa1")) == "malformed_token")
    }

    @Test func audienceAndIssuer() throws {
        let s = try Self.setup()
        #expect(code(s, try s.rsa.mint(claims: Self.claims(["aud": "\"api://other\""]), kid: "rsa1")) == "audience_mismatch")
        #expect(code(s, try s.rsa.mint(claims: Self.claims(["aud": "[\"api://other\", \"api://service-b\"]"]), kid: "rsa1")) == "ok")
        #expect(code(s, try s.rsa.mint(claims: Self.claims(["aud": "[\"api://other\"]"]), kid: "rsa1")) == "audience_mismatch")
        #expect(code(s, try s.rsa.mint(claims: Self.claims(["iss": "\"https://evil.example/\""]), kid: "rsa1")) == "issuer_not_trusted")
        #expect(code(s, try s.rsa.mint(claims: Self.claims(["iss": "\"\(Self.issuer)/\""]), kid: "rsa1")) == "issuer_not_trusted")
    }

    @Test func malformedEncodings() throws {
        let s = try Self.setup()
        let good = try s.rsa.mint(claims: Self.claims(), kid: "rsa1")
        let parts = good.split(separator: ".").map(String.init)
        #expect(code(s, parts[0] + "=." + parts[1] + "." + parts[2]) == "malformed_token")
        #expect(code(s, parts[0] + "." + parts[1] + "+." + parts[2]) == "malformed_token")
        #expect(code(s, good + ".extra.segments") == "malformed_token")
        #expect(code(s, parts[0] + "." + parts[1]) == "malformed_token")
        #expect(code(s, String(repeating: "a", count: 17_000) + "." + parts[1] + "." + parts[2]) == "malformed_token")
        let duplicate = try Self.raw(header: "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}",
                                     payload: Self.claims().dropLast() + ",\"exp\":1}", with: s.rsa, alg: .rs256)
        #expect(code(s, duplicate) == "malformed_token")
        let crit = try Self.raw(header: "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"crit\":[\"exp\"]}", payload: Self.claims(), with: s.rsa, alg: .rs256)
        #expect(code(s, crit) == "unsupported_crit")
        // A tampered payload under a genuine signature.
        let tampered = parts[0] + "." + Base64URL.encode(Array(Self.claims(["roles": "[\"Admin\"]"]).utf8)) + "." + parts[2]
        #expect(code(s, tampered) == "bad_signature")
    }

    @Test func authorization() throws {
        let apps = try Self.setup("  authorization: {allowed_applications: [someone-else]}")
        if case .failure(let error) = check(apps, try apps.rsa.mint(claims: Self.claims(), kid: "rsa1")) {
            #expect(error.code == "application_not_allowed")
            #expect(error.kind == .forbidden)
        } else {
            Issue.record("an application not on the list was allowed")
        }
        let roles = try Self.setup("  authorization: {required_roles: [Data.Write]}")
        if case .failure(let error) = check(roles, try roles.rsa.mint(claims: Self.claims(), kid: "rsa1")) {
            #expect(error.code == "missing_role")
            #expect(error.kind == .insufficientScope)
        } else {
            Issue.record("a missing role was allowed")
        }
        let scopes = try Self.setup("  authorization: {required_scopes: [user_impersonation]}")
        #expect(code(scopes, try scopes.rsa.mint(claims: Self.claims(["scp": "\"openid user_impersonation\""]), kid: "rsa1")) == "ok")
        #expect(code(scopes, try scopes.rsa.mint(claims: Self.claims(), kid: "rsa1")) == "missing_scope")
    }

    @Test func cacheHitStillChecksExpiryAndAuthorization() throws {
        let s = try Self.setup()
        let token = try s.rsa.mint(claims: Self.claims(["exp": "\(Int(Self.now) + 100)"]), kid: "rsa1")
        #expect(try check(s, token).get().cached == false)
        #expect(try check(s, token).get().cached == true)
        #expect(code(s, token, at: Self.now + 1000) == "token_expired")
        // Invalid tokens are never cached, so they cannot push valid ones out.
        for i in 0..<50 {
            _ = check(s, try s.rsa.mint(claims: Self.claims(["aud": "\"x\(i)\""]), kid: "rsa1"))
        }
        #expect(s.validator.cache.count == 1)
        s.validator.cache.removeEntries(validatedByKeysOtherThan: [Self.issuer + " ec1"])
        #expect(s.validator.cache.count == 0)
    }

    @Test func aFullCacheEvictsItsOldestEntryInConstantTime() throws {
        let s = try Self.setup("  cache: {max_entries: 3}")
        let tokens = try (0..<5).map { i in try s.rsa.mint(claims: Self.claims(["jti": "\"t\(i)\""]), kid: "rsa1") }
        for token in tokens { #expect(try check(s, token).get().cached == false) }
        #expect(s.validator.cache.count == 3)
        #expect(s.validator.cache.evictions == 2)
        // The three newest stay; the two oldest went first.
        for token in tokens[2...] { #expect(try check(s, token).get().cached == true) }
        #expect(try check(s, tokens[0]).get().cached == false)
        #expect(s.validator.cache.count == 3)
        // Entries dropped for a removed key leave no hole the queue would trip over.
        s.validator.cache.removeEntries(validatedByKeysOtherThan: [])
        for token in tokens { #expect(try check(s, token).get().cached == false) }
        #expect(s.validator.cache.count == 3)
    }

    @Test func easyAuthHeaders() throws {
        let s = try Self.setup("  claim_headers: {x-caller-app: azp}")
        let identity = try check(s, try s.rsa.mint(claims: Self.claims(), kid: "rsa1")).get().identity
        let headers = identity.upstreamHeaders
        #expect(headers.contains("X-MS-CLIENT-PRINCIPAL-ID: aaaaaaaa-0000-0000-0000-000000000001"))
        #expect(headers.contains("X-MS-CLIENT-PRINCIPAL-IDP: aad"))
        #expect(headers.contains("x-caller-app: 11111111-2222-3333-4444-555555555555"))
        let principal = try #require(headers.first { $0.hasPrefix("X-MS-CLIENT-PRINCIPAL: ") })
        let decoded = try #require(Base64Standard.decode(String(principal.dropFirst("X-MS-CLIENT-PRINCIPAL: ".count))))
        let json = try #require(JSONParser.parse(decoded))
        #expect(json["auth_typ"] == .string("aad"))
        #expect(json["role_typ"] == .string("roles"))
        guard case .array(let claims)? = json["claims"] else { Issue.record("no claims"); return }
        #expect(claims.contains(.object([("typ", .string("roles")), ("val", .string("Data.Read"))])))
    }
}

enum Base64Standard {
    static func decode(_ text: String) -> [UInt8]? {
        let url = String(text.filter { $0 != "=" }.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
        return Base64URL.decode(url)
    }
}
