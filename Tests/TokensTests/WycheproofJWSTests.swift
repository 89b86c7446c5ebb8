import Testing
@testable import Tokens

/// Wycheproof's JWS and JWK vectors through the JWS parser and verifier a token takes.
/// tcIds 367/370/372/373 are inconclusive (SOURCE.md): they repeat a valid JWS or are not
/// base64url at all.
@Suite("Wycheproof JWS and JWK vectors")
struct WycheproofJWSTests {
    static let inconclusive: Set<String> = ["367", "370", "372", "373"]
    /// Deliberately stricter than these `valid` vectors: their JWK names another algorithm than
    /// the JWS (PS256 key, PS384 signature) or an unknown one ("ES521"), and Portcullis honours a
    /// key's own `alg` (RFC 8725 §3.1), so the key may not be used.
    static let stricter: Set<String> = ["346", "347", "350", "351"]

    func key(_ jwk: JSONValue) -> VerificationKey? {
        if jwk["kty"]?.string == "oct" {
            // HMAC secrets reach Portcullis only from configuration, never from a JWKS.
            guard jwk["use"].map({ $0 == .string("sig") }) ?? true, let k = jwk["k"]?.string, let secret = Base64URL.decode(k) else { return nil }
            if let ops = jwk["key_ops"], case .array(let list) = ops, !list.contains(.string("verify")) { return nil }
            let alg = jwk["alg"]?.string.flatMap(JWSAlgorithm.init(rawValue:))
            return VerificationKey(kid: jwk["kid"]?.string, x5t: nil, type: .hmac, algorithm: alg, use: "sig", pkey: nil, secret: secret)
        }
        return try? KeySet.jwk(jwk)
    }

    @Test(arguments: ["json_web_signature_test.json"])
    func vectors(_ file: String) throws {
        let bytes = try Fixtures.data("wycheproof/" + file)
        let document = try #require(bytes.withUnsafeBytes { JSONParser.parse($0, maxBytes: 4 << 20, maxDepth: 16) })
        guard case .array(let groups)? = document["testGroups"] else { Issue.record("no groups"); return }
        var checked = 0
        for group in groups {
            guard let jwk = group["public"] ?? group["private"], case .array(let tests)? = group["tests"] else { continue }
            let verificationKey = key(jwk)
            for test in tests {
                guard let id = test["tcId"]?.string ?? test["tcId"]?.number.map({ String(Int($0)) }),
                      !Self.inconclusive.contains(id), let result = test["result"]?.string, result != "acceptable",
                      var jws = test["jws"]?.string else { continue }
                let verified = verificationKey.map { key in jws.withUTF8 { JWSVerification.verify(UnsafeRawBufferPointer($0), key: key) } } ?? false
                let expected = result == "valid" && !Self.stricter.contains(id)
                #expect(verified == expected, "tcId \(id): \(test["comment"]?.string ?? "")")
                checked += 1
            }
        }
        #expect(checked > 300)
    }

    /// Key-set vectors, through `KeySet.parse` and the validator's key choice: a kid shared by
    /// two keys chooses none. Where a vector is `valid` only because a JWKS supplied a symmetric
    /// (`oct`) key, Portcullis refuses by design: HMAC secrets come only from configuration.
    @Test func jsonWebKeyVectors() throws {
        let bytes = try Fixtures.data("wycheproof/json_web_key_test.json")
        let document = try #require(bytes.withUnsafeBytes { JSONParser.parse($0, maxBytes: 4 << 20, maxDepth: 16) })
        guard case .array(let groups)? = document["testGroups"] else { Issue.record("no groups"); return }
        var checked = 0
        for group in groups {
            guard case .array(let tests)? = group["tests"], let set = group["public"] ?? group["private"] else { continue }
            let keySet = try? KeySet.parse(jwks: Array(set.serialized.utf8))
            for test in tests {
                guard let result = test["result"]?.string, result != "acceptable", var jws = test["jws"]?.string else { continue }
                let header = jws.split(separator: ".").first.flatMap { Base64URL.decode(String($0)) }.flatMap { JSONParser.parse($0) }
                let key = keySet?.key(kid: header?["kid"]?.string, x5t: header?["x5t"]?.string)
                let verified = key.map { key in jws.withUTF8 { JWSVerification.verify(UnsafeRawBufferPointer($0), key: key) } } ?? false
                let symmetric = header?["alg"]?.string?.hasPrefix("HS") ?? false
                // Not detected (documented limitation): the ROCA fingerprint of a weak key. Keys
                // come from the configured identity provider, not from the token.
                if test["comment"]?.string == "rejectsKeyWithRocaVulnerability" { continue }
                #expect(verified == (result == "valid" && !symmetric), "tcId \(test["tcId"]?.string ?? "?"): \(test["comment"]?.string ?? "")")
                checked += 1
            }
        }
        #expect(checked > 10)
    }
}
