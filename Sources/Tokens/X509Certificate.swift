import COpenSSL

/// An X.509 certificate read from PEM, for what JOSE needs of one: its thumbprints (`x5t` is the
/// SHA-1 of the DER, `x5t#S256` the SHA-256, both base64url) and its public key.
///
/// Used by the dev issuer to check client assertions against a client's registered certificate,
/// and by the token sources to name the certificate in an assertion they sign. Nothing here
/// verifies a chain: a registered certificate is trusted because configuration names it.
public final class X509Certificate: Sendable {
    /// The certificate's DER encoding.
    public let der: [UInt8]

    /// Reads the first certificate of a PEM file's bytes.
    public init(pem: [UInt8]) throws(SigningKey.LoadError) {
        let parsed: OpaquePointer? = pem.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_X509(bio, nil, nil, nil)
        }
        guard let x509 = parsed else {
            ERR_clear_error()
            throw SigningKey.LoadError(description: "not a PEM certificate")
        }
        defer { X509_free(x509) }
        var out: UnsafeMutablePointer<UInt8>?
        let length = i2d_X509(x509, &out)
        guard length > 0, let out else { throw SigningKey.LoadError(description: "the certificate cannot be encoded as DER") }
        defer { CRYPTO_free(out, #fileID, #line) }
        der = Array(UnsafeBufferPointer(start: out, count: Int(length)))
    }

    /// `x5t`: base64url of the SHA-1 of the DER (what older Microsoft clients send).
    public var sha1Thumbprint: String { Base64URL.encode(Digest.sha1(der)) }

    /// `x5t#S256`: base64url of the SHA-256 of the DER.
    public var sha256Thumbprint: String { Base64URL.encode(Digest.sha256(der)) }

    /// The certificate's public key, for verifying what its holder signed (RSA, EC or Ed25519).
    public func publicKey() throws(SigningKey.LoadError) -> VerificationKey {
        let key: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var pointer: UnsafePointer<UInt8>? = buffer.baseAddress
            guard let x509 = d2i_X509(nil, &pointer, buffer.count) else { return nil }
            defer { X509_free(x509) }
            // X509_get_pubkey returns a new reference, which VerificationKey then owns.
            return X509_get_pubkey(x509)
        }
        guard let key else {
            ERR_clear_error()
            throw SigningKey.LoadError(description: "the certificate's public key cannot be read")
        }
        let type: VerificationKey.KeyType
        switch EVP_PKEY_get_base_id(key) {
        case EVP_PKEY_RSA:
            // The same floor as for JWKs: below 2048 bits an RSA signature is not worth trusting.
            guard EVP_PKEY_get_bits(key) >= 2048 else {
                EVP_PKEY_free(key)
                throw SigningKey.LoadError(description: "the certificate's RSA key is shorter than 2048 bits")
            }
            type = .rsa
        case EVP_PKEY_ED25519: type = .ed25519
        case EVP_PKEY_EC:
            switch EVP_PKEY_get_bits(key) {
            case 256: type = .ec(curve: "P-256")
            case 384: type = .ec(curve: "P-384")
            case 521: type = .ec(curve: "P-521")
            default:
                EVP_PKEY_free(key)
                throw SigningKey.LoadError(description: "unsupported EC curve in the certificate")
            }
        default:
            EVP_PKEY_free(key)
            throw SigningKey.LoadError(description: "unsupported key type in the certificate")
        }
        return VerificationKey(kid: nil, x5t: sha1Thumbprint, type: type, algorithm: nil, use: "sig", pkey: key)
    }
}
