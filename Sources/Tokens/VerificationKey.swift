import COpenSSL
import CShims
#if canImport(Glibc)
import Glibc
#endif

/// A public key (or HMAC secret) from configuration, owning its OpenSSL object.
///
/// Immutable after creation; OpenSSL allows concurrent verifications with one EVP_PKEY, which
/// is why sharing it between worker threads is safe.
public final class VerificationKey: @unchecked Sendable {
    public enum KeyType: Sendable, Equatable {
        case rsa
        case ec(curve: String)
        case ed25519
        case hmac
    }

    public let kid: String?
    public let x5t: String?
    public let type: KeyType
    /// The key's own `alg`, if its JWK names one: then only that algorithm may use it.
    public let algorithm: JWSAlgorithm?
    /// The key's `use`; a key marked for encryption never verifies a signature.
    public let use: String?
    let pkey: OpaquePointer?
    let secret: [UInt8]

    init(kid: String?, x5t: String?, type: KeyType, algorithm: JWSAlgorithm?, use: String?, pkey: OpaquePointer?, secret: [UInt8] = []) {
        self.kid = kid
        self.x5t = x5t
        self.type = type
        self.algorithm = algorithm
        self.use = use
        self.pkey = pkey
        self.secret = secret
    }

    deinit {
        if let pkey { EVP_PKEY_free(pkey) }
    }

    /// An HMAC secret configured for an issuer (never derived from a JWK in a token).
    public static func hmacSecret(_ bytes: [UInt8]) -> VerificationKey {
        VerificationKey(kid: nil, x5t: nil, type: .hmac, algorithm: nil, use: "sig", pkey: nil, secret: bytes)
    }

    /// Whether `alg` may be verified with this key: the key type must fit the algorithm (an RSA
    /// key is never an HMAC secret), and the key's own `alg` and `use` are respected.
    func permits(_ alg: JWSAlgorithm) -> Bool {
        if let algorithm, algorithm != alg { return false }
        if let use, use != "sig" { return false }
        switch (type, alg.family) {
        case (.rsa, .rsa), (.rsa, .rsaPSS), (.ed25519, .okp), (.hmac, .hmac): return true
        case (.ec(let curve), .ec): return curve == alg.curve
        default: return false
        }
    }

    // MARK: Building from JWK members

    enum BuildError: Error { case invalid(String) }

    static func rsa(n: [UInt8], e: [UInt8]) throws(BuildError) -> OpaquePointer {
        // Below 2048 bits RSA is not a signature worth trusting (RFC 7518 §3.3).
        var modulus = n[...]
        while modulus.first == 0 { modulus = modulus.dropFirst() }
        guard modulus.count >= 256, modulus.count <= 2048 else {
            throw .invalid("RSA modulus must be 2048 to 16384 bits")
        }
        // The exponent must be odd and at least 3: with e = 1 the "signature" is the message.
        var exponent = e[...]
        while exponent.first == 0 { exponent = exponent.dropFirst() }
        guard let last = exponent.last, exponent.count <= 8, last & 1 == 1, exponent.count > 1 || last >= 3 else {
            throw .invalid("RSA public exponent must be odd and at least 3")
        }
        guard let builder = OSSL_PARAM_BLD_new() else { throw .invalid("out of memory") }
        defer { OSSL_PARAM_BLD_free(builder) }
        let bnN = Array(modulus).withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        let bnE = e.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        defer { BN_free(bnN); BN_free(bnE) }
        guard OSSL_PARAM_BLD_push_BN(builder, cs_PARAM_RSA_N, bnN) == 1, OSSL_PARAM_BLD_push_BN(builder, cs_PARAM_RSA_E, bnE) == 1,
              let params = OSSL_PARAM_BLD_to_param(builder) else { throw .invalid("bad RSA key") }
        defer { OSSL_PARAM_free(params) }
        return try fromData("RSA", params)
    }

    static func ec(curve: String, x: [UInt8], y: [UInt8]) throws(BuildError) -> OpaquePointer {
        let size: Int
        switch curve {
        case "P-256": size = 32
        case "P-384": size = 48
        case "P-521": size = 66
        default: throw .invalid("unsupported curve \(curve)")
        }
        guard x.count == size, y.count == size else { throw .invalid("EC coordinates must be \(size) bytes for \(curve)") }
        guard let builder = OSSL_PARAM_BLD_new() else { throw .invalid("out of memory") }
        defer { OSSL_PARAM_BLD_free(builder) }
        // The builder reads these buffers only in OSSL_PARAM_BLD_to_param, so they are allocated
        // here and freed after it, not borrowed for the duration of one call.
        let point = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 + 2 * size, alignment: 1)
        defer { point.deallocate() }
        point[0] = 0x04
        point.baseAddress?.advanced(by: 1).copyMemory(from: x, byteCount: size)
        point.baseAddress?.advanced(by: 1 + size).copyMemory(from: y, byteCount: size)
        let group = strdup(curve)
        defer { free(group) }
        guard OSSL_PARAM_BLD_push_utf8_string(builder, cs_PARAM_GROUP_NAME, group, 0) == 1,
              OSSL_PARAM_BLD_push_octet_string(builder, cs_PARAM_PUB_KEY, point.baseAddress, point.count) == 1,
              let params = OSSL_PARAM_BLD_to_param(builder) else { throw .invalid("bad EC key") }
        defer { OSSL_PARAM_free(params) }
        let key = try fromData("EC", params)
        // A point off the curve would make verification meaningless: check it now.
        guard let check = EVP_PKEY_CTX_new_from_pkey(nil, key, nil) else { EVP_PKEY_free(key); throw .invalid("out of memory") }
        defer { EVP_PKEY_CTX_free(check) }
        guard EVP_PKEY_public_check(check) == 1 else { EVP_PKEY_free(key); throw .invalid("EC point is not on \(curve)") }
        return key
    }

    static func ed25519(x: [UInt8]) throws(BuildError) -> OpaquePointer {
        guard x.count == 32 else { throw .invalid("Ed25519 public keys are 32 bytes") }
        guard let key = x.withUnsafeBufferPointer({ EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, $0.baseAddress, 32) }) else {
            throw .invalid("bad Ed25519 key")
        }
        return key
    }

    private static func fromData(_ type: String, _ params: UnsafeMutablePointer<OSSL_PARAM>) throws(BuildError) -> OpaquePointer {
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, type, nil) else { throw .invalid("\(type) unavailable") }
        defer { EVP_PKEY_CTX_free(ctx) }
        var key: OpaquePointer?
        guard EVP_PKEY_fromdata_init(ctx) == 1,
              EVP_PKEY_fromdata(ctx, &key, cs_EVP_PKEY_PUBLIC_KEY, params) == 1, let key else {
            ERR_clear_error()
            throw .invalid("bad \(type) key")
        }
        return key
    }
}
