import COpenSSL

extension SigningKey {
    /// A fresh RSA key (for the dev issuer's signing keys, made at start and at each rotation).
    public static func generateRSA(bits: Int = 2048) throws(LoadError) -> SigningKey {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "RSA", nil) else { throw LoadError(description: "RSA is unavailable") }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(context) == 1,
              EVP_PKEY_CTX_set_rsa_keygen_bits(context, Int32(bits)) == 1,
              EVP_PKEY_generate(context, &key) == 1, let key else {
            ERR_clear_error()
            throw LoadError(description: "RSA key generation failed")
        }
        return SigningKey(owning: key, type: .rsa)
    }

    /// The RFC 7638 JWK thumbprint of the public key (base64url SHA-256 of its required members
    /// in lexical order): a key id that is the same every time the same key is loaded.
    public var jwkThumbprint: String {
        let jwk = publicJWK(kid: nil)
        let required: [String]
        switch type {
        case .rsa: required = ["e", "kty", "n"]
        case .ec: required = ["crv", "kty", "x", "y"]
        case .ed25519: required = ["crv", "kty", "x"]
        case .hmac: required = []
        }
        let canonical = JSONValue.object(required.compactMap { name in jwk[name].map { (name, $0) } })
        return Base64URL.encode(Digest.sha256(Array(canonical.serialized.utf8)))
    }
}
