/// The JWS algorithms Portcullis verifies (RFC 7518, RFC 8037). `none` is not one of them.
public enum JWSAlgorithm: String, Sendable, CaseIterable {
    case rs256 = "RS256", rs384 = "RS384", rs512 = "RS512"
    case ps256 = "PS256", ps384 = "PS384", ps512 = "PS512"
    case es256 = "ES256", es384 = "ES384", es512 = "ES512"
    case edDSA = "EdDSA"
    case hs256 = "HS256", hs384 = "HS384", hs512 = "HS512"

    public enum Family: Sendable { case rsa, rsaPSS, ec, okp, hmac }

    public var family: Family {
        switch self {
        case .rs256, .rs384, .rs512: .rsa
        case .ps256, .ps384, .ps512: .rsaPSS
        case .es256, .es384, .es512: .ec
        case .edDSA: .okp
        case .hs256, .hs384, .hs512: .hmac
        }
    }

    /// Digest size in bytes (also the PSS salt length, and half an ECDSA signature's field size
    /// for P-256 and P-384).
    var digestBytes: Int {
        switch self {
        case .rs256, .ps256, .es256, .hs256: 32
        case .rs384, .ps384, .es384, .hs384: 48
        case .rs512, .ps512, .es512, .hs512: 64
        case .edDSA: 0
        }
    }

    /// The curve an ECDSA algorithm requires (RFC 7518 §3.4): ES512 is P-521, not P-512.
    var curve: String? {
        switch self {
        case .es256: "P-256"
        case .es384: "P-384"
        case .es512: "P-521"
        default: nil
        }
    }
}
