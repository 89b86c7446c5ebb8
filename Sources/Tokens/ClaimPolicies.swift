/// One check of a verified token's claims, in swift-certificates' style: a small value that
/// either passes or says why not. The validator runs an ordered list of them.
protocol ClaimPolicy: Sendable {
    func check(_ claims: JSONValue, now: Double) -> TokenError?
}

/// What authorization needs to decide, after the token itself is known to be good.
protocol AuthorizationPolicy: Sendable {
    func check(_ identity: Identity) -> TokenError?
}

/// Reads a NumericDate claim: absent is nil, anything but a number is an error.
func numericDate(_ claims: JSONValue, _ name: String) -> Result<Double?, TokenError> {
    guard let value = claims[name] else { return .success(nil) }
    guard case .number(let n) = value else { return .failure(.malformed("\(name) is not a number")) }
    return .success(n)
}

struct ExpiryPolicy: ClaimPolicy {
    let skew: Double
    func check(_ claims: JSONValue, now: Double) -> TokenError? {
        switch numericDate(claims, "exp") {
        case .failure(let error): return error
        case .success(nil): return TokenError("missing_exp", "the token has no expiry")
        case .success(let exp?): return now > exp + skew ? TokenError("token_expired", "the token has expired") : nil
        }
    }
}

struct NotBeforePolicy: ClaimPolicy {
    let skew: Double
    func check(_ claims: JSONValue, now: Double) -> TokenError? {
        switch numericDate(claims, "nbf") {
        case .failure(let error): return error
        case .success(nil): return nil
        case .success(let nbf?): return nbf > now + skew ? TokenError("token_not_yet_valid", "the token is not valid yet") : nil
        }
    }
}

struct IssuedAtPolicy: ClaimPolicy {
    let skew: Double
    func check(_ claims: JSONValue, now: Double) -> TokenError? {
        switch numericDate(claims, "iat") {
        case .failure(let error): return error
        case .success(nil): return nil
        case .success(let iat?): return iat > now + skew ? TokenError("iat_in_future", "the token claims to be issued in the future") : nil
        }
    }
}

struct AudiencePolicy: ClaimPolicy {
    let audiences: Set<String>
    func check(_ claims: JSONValue, now: Double) -> TokenError? {
        switch claims["aud"] {
        case .string(let aud)?:
            return audiences.contains(aud) ? nil : TokenError("audience_mismatch", "the token is not meant for this service")
        case .array(let values)?:
            for value in values {
                guard case .string(let aud) = value else { return .malformed("aud holds a non-string") }
                if audiences.contains(aud) { return nil }
            }
            return TokenError("audience_mismatch", "the token is not meant for this service")
        case nil:
            return TokenError("audience_mismatch", "the token has no audience")
        default:
            return .malformed("aud is neither a string nor an array")
        }
    }
}

/// The caller's application (`appid`/`azp`), principal (`oid`) or tenant (`tid`) must be on a
/// list; one policy type, three configurations.
struct AllowListPolicy: AuthorizationPolicy {
    let allowed: Set<String>
    let value: @Sendable (Identity) -> String?
    let code: String
    let reason: String

    static func applications(_ allowed: [String]) -> AllowListPolicy {
        AllowListPolicy(allowed: Set(allowed), value: { $0.applicationID }, code: "application_not_allowed",
                        reason: "the calling application is not allowed")
    }

    static func principals(_ allowed: [String]) -> AllowListPolicy {
        AllowListPolicy(allowed: Set(allowed), value: { $0.objectID }, code: "principal_not_allowed",
                        reason: "the calling principal is not allowed")
    }

    static func tenants(_ allowed: [String]) -> AllowListPolicy {
        AllowListPolicy(allowed: Set(allowed), value: { $0.tenantID }, code: "tenant_not_allowed",
                        reason: "the calling tenant is not allowed")
    }

    func check(_ identity: Identity) -> TokenError? {
        guard let value = value(identity), allowed.contains(value) else {
            return TokenError(code, reason, kind: .forbidden)
        }
        return nil
    }
}

/// Values a multi-valued claim (`roles`, or the words of `scp`) must hold: each listed one
/// (all-of; one policy per value, so the refusal names the one that is missing), or at least
/// one of a list (any-of). The refusal texts are built here, once, from the configured names.
struct RequiredValuesPolicy: AuthorizationPolicy {
    enum Claim: Sendable {
        case roles, scopes

        var code: String { self == .roles ? "missing_role" : "missing_scope" }
        var noun: (one: String, many: String) { self == .roles ? ("role", "roles") : ("scope", "scopes") }
    }

    let claim: Claim
    let values: [String]
    let error: TokenError

    /// The token must hold `value`.
    static func allOf(_ value: String, _ claim: Claim) -> RequiredValuesPolicy {
        RequiredValuesPolicy(claim: claim, values: [value],
                             error: TokenError(claim.code, "the token lacks the \(claim.noun.one) \(printable(value))",
                                               kind: .insufficientScope))
    }

    /// The token must hold at least one of `values`.
    static func anyOf(_ values: [String], _ claim: Claim) -> RequiredValuesPolicy {
        let list = values.map(printable).joined(separator: ", ")
        return RequiredValuesPolicy(claim: claim, values: values,
                                    error: TokenError(claim.code, "the token has none of the \(claim.noun.many) \(list)",
                                                      kind: .insufficientScope))
    }

    func check(_ identity: Identity) -> TokenError? {
        let held = claim == .roles ? identity.roles : identity.scopes
        for value in values where held.contains(value) { return nil }
        return error
    }

    /// The reason travels in a `WWW-Authenticate` error_description, which may not hold quotes,
    /// backslashes or anything outside printable ASCII (RFC 6750 §3).
    static func printable(_ text: String) -> String {
        String(decoding: text.utf8.map { $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") ? $0 : UInt8(ascii: "?") },
               as: UTF8.self)
    }
}
