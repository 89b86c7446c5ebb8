import Testing
@testable import Tokens

/// Project Wycheproof vectors through `SignatureVerifier.verify`, the function every token takes:
/// each `valid` vector verifies, each `invalid` one is refused. `acceptable` ones are skipped,
/// as SOURCE.md advises; HMAC vectors with truncated tags must be refused even where they are
/// `valid` MACs, because a JWS HMAC is always full length.
@Suite("Wycheproof signature vectors")
struct WycheproofTests {
    static let files: [(String, JWSAlgorithm)] = [
        ("ecdsa_secp256r1_sha256_p1363_test.json", .es256),
        ("ecdsa_secp384r1_sha384_p1363_test.json", .es384),
        ("ecdsa_secp521r1_sha512_p1363_test.json", .es512),
        ("ed25519_test.json", .edDSA),
        ("rsa_signature_2048_sha256_test.json", .rs256),
        ("rsa_signature_2048_sha384_test.json", .rs384),
        ("rsa_signature_2048_sha512_test.json", .rs512),
        ("rsa_signature_3072_sha256_test.json", .rs256),
        ("rsa_signature_4096_sha256_test.json", .rs256),
        ("rsa_pss_2048_sha256_mgf1_32_test.json", .ps256),
        ("rsa_pss_2048_sha384_mgf1_48_test.json", .ps384),
        ("rsa_pss_3072_sha256_mgf1_32_test.json", .ps256),
        ("hmac_sha256_test.json", .hs256),
        ("hmac_sha384_test.json", .hs384),
        ("hmac_sha512_test.json", .hs512),
    ]

    @Test(arguments: files.indices)
    func vectors(_ index: Int) throws {
        let (file, alg) = Self.files[index]
        let document = try #require(try parseLarge(file), "\(file) did not parse")
        guard case .array(let groups)? = document["testGroups"] else { Issue.record("no groups in \(file)"); return }
        var checked = 0
        for group in groups {
            guard case .array(let tests)? = group["tests"] else { continue }
            var key: VerificationKey?
            var truncated = false
            if alg.family == .hmac {
                truncated = group["tagSize"]?.number.map { Int($0) != alg.digestBytes * 8 } ?? true
            } else {
                let jwk = group["publicKeyJwk"] ?? group["keyJwk"]
                key = jwk.flatMap { try? KeySet.jwk($0) }
                // A few ECDSA groups (special points) carry no JWK: build the same key from the
                // uncompressed point, through the same constructor a JWK uses.
                if jwk == nil, let point = group["publicKey"]?["uncompressed"]?.string, let curve = alg.curve {
                    let bytes = Fixtures.hex(point)
                    let half = (bytes.count - 1) / 2
                    if let pkey = try? VerificationKey.ec(curve: curve, x: Array(bytes[1...half]), y: Array(bytes[(1 + half)...])) {
                        key = VerificationKey(kid: nil, x5t: nil, type: .ec(curve: curve), algorithm: nil, use: nil, pkey: pkey)
                    }
                }
            }
            for test in tests {
                guard let result = test["result"]?.string, result != "acceptable" else { continue }
                let id = Int(test["tcId"]?.number ?? -1)
                let message = Fixtures.hex(test["msg"]?.string ?? "")
                let expected = result == "valid" && !truncated
                let verified: Bool
                if alg.family == .hmac {
                    let secret = VerificationKey.hmacSecret(Fixtures.hex(test["key"]?.string ?? ""))
                    let tag = Fixtures.hex(test["tag"]?.string ?? "")
                    verified = message.withUnsafeBytes { m in tag.withUnsafeBytes { SignatureVerifier.verify(alg, key: secret, message: m, signature: $0) } }
                } else if let key {
                    let signature = Fixtures.hex(test["sig"]?.string ?? "")
                    verified = message.withUnsafeBytes { m in signature.withUnsafeBytes { SignatureVerifier.verify(alg, key: key, message: m, signature: $0) } }
                } else {
                    // The key itself was refused (e.g. a point off the curve): nothing may verify.
                    verified = false
                }
                #expect(verified == expected, "\(file) tcId \(id): \(test["comment"]?.string ?? "")")
                checked += 1
            }
        }
        #expect(checked > 100, "\(file): only \(checked) vectors checked")
    }

    func parseLarge(_ file: String) throws -> JSONValue? {
        let bytes = try Fixtures.data("wycheproof/" + file)
        return bytes.withUnsafeBytes { JSONParser.parse($0, maxBytes: 4 << 20, maxDepth: 16) }
    }
}
