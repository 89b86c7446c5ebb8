import COpenSSL
import CShims

/// A private key for local tooling (`portcullis token mint`, `portcullis jwks`) and tests.
/// Portcullis itself never signs anything on the request path.
public final class SigningKey: @unchecked Sendable {
    // Unchecked: the EVP_PKEY is never mutated after loading; OpenSSL permits concurrent use.
    let pkey: OpaquePointer
    public let type: VerificationKey.KeyType

    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Loads a PEM private key (RSA, EC P-256/384/521, Ed25519).
    public init(pem: [UInt8]) throws(LoadError) {
        // BIO_new_mem_buf borrows the bytes, so the BIO must live and die inside the borrow.
        let loaded: OpaquePointer? = pem.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PrivateKey(bio, nil, nil, nil)
        }
        guard let key = loaded else {
            ERR_clear_error()
            throw LoadError(description: "not a PEM private key")
        }
        pkey = key
        switch EVP_PKEY_get_base_id(key) {
        case EVP_PKEY_RSA: type = .rsa
        case EVP_PKEY_ED25519: type = .ed25519
        case EVP_PKEY_EC:
            var name = [CChar](repeating: 0, count: 64)
            var length = 0
            EVP_PKEY_get_utf8_string_param(key, cs_PARAM_GROUP_NAME, &name, name.count, &length)
            let group = String(decoding: name[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let curve = ["prime256v1": "P-256", "P-256": "P-256", "secp384r1": "P-384", "P-384": "P-384",
                         "secp521r1": "P-521", "P-521": "P-521"][group]
            guard let curve else {
                EVP_PKEY_free(key)
                throw LoadError(description: "unsupported EC curve \(group)")
            }
            type = .ec(curve: curve)
        default:
            EVP_PKEY_free(key)
            throw LoadError(description: "unsupported key type (use RSA, EC P-256/384/521 or Ed25519)")
        }
    }

    /// Takes ownership of a key made in this module (a freshly generated one).
    init(owning key: OpaquePointer, type: VerificationKey.KeyType) {
        pkey = key
        self.type = type
    }

    deinit { EVP_PKEY_free(pkey) }

    public var defaultAlgorithm: JWSAlgorithm {
        switch type {
        case .rsa: .rs256
        case .ed25519: .edDSA
        case .ec(let curve): curve == "P-256" ? .es256 : curve == "P-384" ? .es384 : .es512
        case .hmac: .hs256
        }
    }

    /// A compact JWS over `claims` (a JSON object text).
    public func mint(claims: String, kid: String?, algorithm: JWSAlgorithm? = nil, extraHeader: [(String, JSONValue)] = []) throws(LoadError) -> String {
        let alg = algorithm ?? defaultAlgorithm
        guard let parsed = JSONParser.parse(Array(claims.utf8)), case .object = parsed else {
            throw LoadError(description: "--claims is not a JSON object")
        }
        var header: [(String, JSONValue)] = [("alg", .string(alg.rawValue)), ("typ", .string("JWT"))]
        if let kid { header.append(("kid", .string(kid))) }
        header += extraHeader
        let input = Base64URL.encode(Array(JSONValue.object(header).serialized.utf8)) + "." + Base64URL.encode(Array(parsed.serialized.utf8))
        let signature = try sign(Array(input.utf8), alg)
        return input + "." + Base64URL.encode(signature)
    }

    func sign(_ message: [UInt8], _ alg: JWSAlgorithm) throws(LoadError) -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw LoadError(description: "out of memory") }
        defer { EVP_MD_CTX_free(context) }
        var pctx: OpaquePointer?
        guard EVP_DigestSignInit(context, &pctx, alg.family == .okp ? nil : SignatureVerifier.digest(alg), nil, pkey) == 1 else {
            throw LoadError(description: "this key cannot sign \(alg.rawValue)")
        }
        if alg.family == .rsaPSS {
            EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING)
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, Int32(alg.digestBytes))
        }
        var length = 0
        let ok1 = message.withUnsafeBufferPointer { EVP_DigestSign(context, nil, &length, $0.baseAddress, $0.count) }
        guard ok1 == 1 else { throw LoadError(description: "signing failed") }
        var signature = [UInt8](repeating: 0, count: length)
        let ok2 = message.withUnsafeBufferPointer { m in
            signature.withUnsafeMutableBufferPointer { EVP_DigestSign(context, $0.baseAddress, &length, m.baseAddress, m.count) }
        }
        guard ok2 == 1 else { throw LoadError(description: "signing failed") }
        signature.removeLast(signature.count - length)
        guard alg.family == .ec else { return signature }
        return try rawECDSA(signature, alg)
    }

    /// DER ECDSA → JWS raw r||s.
    private func rawECDSA(_ der: [UInt8], _ alg: JWSAlgorithm) throws(LoadError) -> [UInt8] {
        let half = alg == .es256 ? 32 : alg == .es384 ? 48 : 66
        return try der.withUnsafeBufferPointer { buffer throws(LoadError) -> [UInt8] in
            var pointer: UnsafePointer<UInt8>? = buffer.baseAddress
            guard let sig = d2i_ECDSA_SIG(nil, &pointer, buffer.count) else { throw LoadError(description: "bad ECDSA signature") }
            defer { ECDSA_SIG_free(sig) }
            var out = [UInt8](repeating: 0, count: 2 * half)
            out.withUnsafeMutableBufferPointer { raw in
                _ = BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw.baseAddress, Int32(half))
                _ = BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw.baseAddress.map { $0 + half }, Int32(half))
            }
            return out
        }
    }

    /// The public half as a JWK (for `portcullis jwks`).
    public func publicJWK(kid: String?) -> JSONValue {
        var members: [(String, JSONValue)] = []
        switch type {
        case .rsa:
            members = [("kty", .string("RSA")), ("n", .string(Base64URL.encode(bignum("n")))), ("e", .string(Base64URL.encode(bignum("e"))))]
        case .ec(let curve):
            var point = [UInt8](repeating: 0, count: 200)
            var length = 0
            EVP_PKEY_get_octet_string_param(pkey, cs_PARAM_PUB_KEY, &point, point.count, &length)
            let half = (length - 1) / 2
            members = [("kty", .string("EC")), ("crv", .string(curve)),
                       ("x", .string(Base64URL.encode(point[1..<1 + half]))), ("y", .string(Base64URL.encode(point[1 + half..<length])))]
        case .ed25519:
            var raw = [UInt8](repeating: 0, count: 32)
            var length = 32
            EVP_PKEY_get_raw_public_key(pkey, &raw, &length)
            members = [("kty", .string("OKP")), ("crv", .string("Ed25519")), ("x", .string(Base64URL.encode(raw)))]
        case .hmac:
            break
        }
        members.append(("use", .string("sig")))
        members.append(("alg", .string(defaultAlgorithm.rawValue)))
        if let kid { members.append(("kid", .string(kid))) }
        return .object(members)
    }

    private func bignum(_ name: String) -> [UInt8] {
        var bn: OpaquePointer?
        guard EVP_PKEY_get_bn_param(pkey, name, &bn) == 1, let bn else { return [] }
        defer { BN_free(bn) }
        var out = [UInt8](repeating: 0, count: Int((BN_num_bits(bn) + 7) / 8))
        BN_bn2bin(bn, &out)
        return out
    }
}
