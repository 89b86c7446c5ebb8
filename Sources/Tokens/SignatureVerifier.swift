import COpenSSL

/// Checks a JWS signature with OpenSSL EVP. One function for every path, tokens and test vectors
/// alike, so what the Wycheproof suite exercises is what a request exercises.
public enum SignatureVerifier {
    public static func verify(_ alg: JWSAlgorithm, key: VerificationKey, message: UnsafeRawBufferPointer,
                              signature: UnsafeRawBufferPointer) -> Bool {
        guard key.permits(alg) else { return false }
        defer { ERR_clear_error() }
        switch alg.family {
        case .hmac:
            return verifyHMAC(alg, key.secret, message, signature)
        case .ec:
            guard let der = ecdsaDER(alg, signature) else { return false }
            return der.withUnsafeBytes { digestVerify(alg, key, message, $0) }
        case .rsa, .rsaPSS, .okp:
            return digestVerify(alg, key, message, signature)
        }
    }

    static func digest(_ alg: JWSAlgorithm) -> OpaquePointer? {
        switch alg.digestBytes {
        case 32: EVP_sha256()
        case 48: EVP_sha384()
        case 64: EVP_sha512()
        default: nil
        }
    }

    private static func digestVerify(_ alg: JWSAlgorithm, _ key: VerificationKey, _ message: UnsafeRawBufferPointer,
                                     _ signature: UnsafeRawBufferPointer) -> Bool {
        guard let pkey = key.pkey, let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        var pctx: OpaquePointer?
        guard EVP_DigestVerifyInit(context, &pctx, digest(alg), nil, pkey) == 1 else { return false }
        if alg.family == .rsaPSS {
            // RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash.
            guard EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1,
                  EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, Int32(alg.digestBytes)) == 1,
                  EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, digest(alg)) == 1 else { return false }
        } else if alg.family == .rsa {
            guard EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 else { return false }
        }
        return EVP_DigestVerify(context, signature.baseAddress?.assumingMemoryBound(to: UInt8.self), signature.count,
                                message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count) == 1
    }

    /// JWS carries ECDSA as raw r||s of exactly twice the field size (RFC 7518 §3.4); OpenSSL
    /// wants DER. Anything else (a DER signature, a short or long one, r or s zero) is refused.
    static func ecdsaDER(_ alg: JWSAlgorithm, _ signature: UnsafeRawBufferPointer) -> [UInt8]? {
        let half: Int
        switch alg {
        case .es256: half = 32
        case .es384: half = 48
        case .es512: half = 66
        default: return nil
        }
        guard signature.count == 2 * half else { return nil }
        let r = UnsafeRawBufferPointer(rebasing: signature[0..<half])
        let s = UnsafeRawBufferPointer(rebasing: signature[half...])
        guard r.contains(where: { $0 != 0 }), s.contains(where: { $0 != 0 }) else { return nil }
        guard let sig = ECDSA_SIG_new() else { return nil }
        defer { ECDSA_SIG_free(sig) }
        let bnR = BN_bin2bn(r.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(half), nil)
        let bnS = BN_bin2bn(s.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(half), nil)
        guard let bnR, let bnS, ECDSA_SIG_set0(sig, bnR, bnS) == 1 else {
            BN_free(bnR); BN_free(bnS)
            return nil
        }
        var out: UnsafeMutablePointer<UInt8>?
        let length = i2d_ECDSA_SIG(sig, &out)
        guard length > 0, let out else { return nil }
        defer { CRYPTO_free(out, #fileID, #line) }
        return Array(UnsafeBufferPointer(start: out, count: Int(length)))
    }

    private static func verifyHMAC(_ alg: JWSAlgorithm, _ secret: [UInt8], _ message: UnsafeRawBufferPointer,
                                   _ signature: UnsafeRawBufferPointer) -> Bool {
        // Full-length tags only: a truncated tag is a weaker MAC than the algorithm promises.
        guard !secret.isEmpty, signature.count == alg.digestBytes else { return false }
        var tag = [UInt8](repeating: 0, count: 64)
        var length: UInt32 = 0
        let ok = secret.withUnsafeBytes { key in
            tag.withUnsafeMutableBufferPointer { out in
                HMAC(digest(alg), key.baseAddress, Int32(key.count), message.baseAddress?.assumingMemoryBound(to: UInt8.self),
                     message.count, out.baseAddress, &length) != nil
            }
        }
        guard ok, Int(length) == signature.count else { return false }
        return tag.withUnsafeBytes { CRYPTO_memcmp($0.baseAddress, signature.baseAddress, signature.count) == 0 }
    }
}
