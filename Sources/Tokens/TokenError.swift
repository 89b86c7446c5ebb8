/// Why a token was refused: a stable code for the access log and a short reason for the client
/// that reveals no key material.
public struct TokenError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// 401 with `error="invalid_token"`.
        case invalidToken
        /// 403 with `error="insufficient_scope"` (roles or scopes missing).
        case insufficientScope
        /// 403 without a Bearer error (application, principal or tenant not allowed).
        case forbidden
        /// The token's issuer is configured but its keys are missing or past `max_stale`:
        /// 503 with Retry-After (or 401 with `keys_unavailable_action: reject`).
        case keysUnavailable
    }

    public let code: String
    public let reason: String
    public let kind: Kind
    /// Set for `unknown_kid`: the issuer whose key set should be refetched.
    public let refetchIssuer: String?
    /// The key id (or thumbprint) the token named, so a flood of the same unknown one is
    /// remembered and does not ask again (`auth.keys.unknown_kid_ttl`).
    public let refetchKid: String?

    public init(_ code: String, _ reason: String, kind: Kind = .invalidToken, refetchIssuer: String? = nil,
                refetchKid: String? = nil) {
        self.code = code
        self.reason = reason
        self.kind = kind
        self.refetchIssuer = refetchIssuer
        self.refetchKid = refetchKid
    }

    public var description: String { "\(code): \(reason)" }

    static func malformed(_ reason: String) -> TokenError { TokenError("malformed_token", reason) }
    static let badSignature = TokenError("bad_signature", "signature does not verify")
}
