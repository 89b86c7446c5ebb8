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

struct RolesPolicy: AuthorizationPolicy {
    let required: [String]
    func check(_ identity: Identity) -> TokenError? {
        for role in required where !identity.roles.contains(role) {
            return TokenError("missing_role", "the token lacks a required role", kind: .insufficientScope)
        }
        return nil
    }
}

struct ScopesPolicy: AuthorizationPolicy {
    let required: [String]
    func check(_ identity: Identity) -> TokenError? {
        for scope in required where !identity.scopes.contains(scope) {
            return TokenError("missing_scope", "the token lacks a required scope", kind: .insufficientScope)
        }
        return nil
    }
}
