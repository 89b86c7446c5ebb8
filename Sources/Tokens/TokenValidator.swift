public import Config

/// Authenticates bearer tokens for one configuration: issuer by `iss`, key by `kid` from that
/// issuer's set only, signature, claims. What the caller must then hold is not its business:
/// the request's ``AuthorizationRequirement`` (`auth.authorization`, or the route's) is checked
/// by the caller. Immutable and shared by all workers; key sets arrive as an immutable
/// ``KeySnapshot`` the caller passes in.
public final class TokenValidator: Sendable {
    struct Issuer: Sendable {
        let name: String
        let algorithms: Set<JWSAlgorithm>
        let policies: [any ClaimPolicy]
        let secret: VerificationKey?
        /// A multi-tenant template's text before and after the tenant id, and the tenants
        /// allowed in it; nil for an exact issuer.
        let template: (prefix: String, suffix: String, tenants: Set<String>)?
    }

    /// Exact issuers by `iss`; templates are few (Entra's v1 and v2) and tried in order after.
    let issuers: [String: Issuer]
    let templates: [Issuer]
    let headers: IdentityHeaderSettings
    let skew: Double
    /// Fetched keys older than this count as unavailable (`auth.keys.max_stale`).
    let maxStale: Double
    public let cache: TokenCache

    /// `secrets` maps an issuer to the bytes of its `hmac_secret_file`, read by the caller.
    public init(_ settings: AuthSettings, secrets: [String: [UInt8]] = [:]) {
        let skew = Double(settings.clockSkew.components.seconds)
        var issuers: [String: Issuer] = [:]
        var templates: [Issuer] = []
        for issuer in settings.issuers {
            let policies: [any ClaimPolicy] = [
                ExpiryPolicy(skew: skew), NotBeforePolicy(skew: skew), IssuedAtPolicy(skew: skew),
                AudiencePolicy(audiences: Set(issuer.audiences)),
            ]
            var template: (prefix: String, suffix: String, tenants: Set<String>)?
            if !issuer.tenants.isEmpty, let hole = issuer.issuer.range(of: IssuerSettings.tenantPlaceholder) {
                template = (String(issuer.issuer[..<hole.lowerBound]), String(issuer.issuer[hole.upperBound...]),
                            Set(issuer.tenants.map { $0.lowercased() }))
            }
            let compiled = Issuer(
                name: issuer.issuer,
                algorithms: Set(issuer.algorithms.compactMap(JWSAlgorithm.init(rawValue:))),
                policies: policies,
                secret: secrets[issuer.issuer].map(VerificationKey.hmacSecret),
                template: template
            )
            if template == nil { issuers[issuer.issuer] = compiled } else { templates.append(compiled) }
        }
        self.issuers = issuers
        self.templates = templates
        self.skew = skew
        maxStale = Double(settings.keys.maxStale.components.seconds)
        headers = IdentityHeaderSettings(easyAuth: settings.identityHeaders == .easyAuth, claimHeaders: settings.claimHeaders)
        cache = TokenCache(capacity: settings.cache.maxEntries)
    }

    /// Authenticates a compact JWS. A cache hit skips parsing and the signature but still checks
    /// expiry and not-before against `now`. Authorization is the caller's next step.
    public func validate(token: UnsafeRawBufferPointer, keys: KeySnapshot, now: Double) -> Result<Validated, TokenError> {
        if let identity = cache.lookup(token) {
            if now > identity.expiresAt + skew { return .failure(TokenError("token_expired", "the token has expired")) }
            if let nbf = identity.notBefore, nbf > now + skew { return .failure(TokenError("token_not_yet_valid", "the token is not valid yet")) }
            return .success(Validated(identity: identity, cached: true))
        }
        let jws: CompactJWS
        do {
            jws = try CompactJWS.parse(token)
        } catch {
            return .failure(error)
        }
        guard case .string(let iss)? = jws.claims["iss"] else {
            return .failure(TokenError("issuer_not_trusted", "the token's issuer is not trusted here"))
        }
        let issuer: Issuer
        switch trustedIssuer(iss, claims: jws.claims) {
        case .success(let found): issuer = found
        case .failure(let error): return .failure(error)
        }
        guard issuer.algorithms.contains(jws.algorithm) else {
            return .failure(TokenError("alg_not_allowed", "algorithm \(jws.algorithm.rawValue) is not allowed for this issuer"))
        }
        let key: VerificationKey
        if jws.algorithm.family == .hmac {
            guard let secret = issuer.secret else {
                return .failure(TokenError("alg_not_allowed", "this issuer has no HMAC secret"))
            }
            key = secret
        } else {
            // No keys, or keys too old to trust: the proxy cannot judge this token, which is not
            // the token's fault (a dead identity provider must not read as "invalid token").
            // Keys belong to the configured issuer (a template's are shared by all its tenants).
            let name = issuer.name
            guard let set = keys.sets[name], keys.fetchedAt[name].map({ now - $0 <= maxStale }) ?? true else {
                return .failure(TokenError("keys_unavailable", "the signing keys of this issuer are not available right now",
                                           kind: .keysUnavailable, refetchIssuer: name))
            }
            guard let found = set.key(kid: jws.kid, x5t: jws.x5t) else {
                return .failure(TokenError("unknown_kid", "no key of this issuer matches the token", refetchIssuer: name,
                                           refetchKid: jws.kid ?? jws.x5t ?? ""))
            }
            key = found
        }
        guard key.permits(jws.algorithm) else {
            return .failure(TokenError("key_alg_mismatch", "the key does not permit algorithm \(jws.algorithm.rawValue)"))
        }
        let verified = jws.signature.withUnsafeBytes { signature in
            SignatureVerifier.verify(jws.algorithm, key: key, message: UnsafeRawBufferPointer(rebasing: token[jws.signingInput]),
                                     signature: signature)
        }
        guard verified else { return .failure(.badSignature) }
        for policy in issuer.policies {
            if let error = policy.check(jws.claims, now: now) { return .failure(error) }
        }
        guard case .number(let exp)? = jws.claims["exp"] else { return .failure(TokenError("missing_exp", "the token has no expiry")) }
        let nbf = jws.claims["nbf"]?.number
        let identity = Identity(issuer: iss, claims: jws.claims, expiresAt: exp, notBefore: nbf, headers: headers)
        cache.insert(token, identity, keyID: issuer.name + " " + (key.kid ?? key.x5t ?? "-"))
        return .success(Validated(identity: identity, cached: false))
    }

    /// The configured issuer a token's `iss` names: an exact one, or a multi-tenant template
    /// whose placeholder holds exactly the token's own `tid`, an allowed tenant. Checking `iss`
    /// against `tid` is Microsoft's rule for multi-tenant validation: the tenant is where the
    /// token says it was issued, not merely a claim beside it.
    func trustedIssuer(_ iss: String, claims: JSONValue) -> Result<Issuer, TokenError> {
        if let exact = issuers[iss] { return .success(exact) }
        for issuer in templates {
            // Bytes, not Characters: a combining mark after the prefix must not shift the hole.
            let utf8 = iss.utf8
            guard let template = issuer.template, utf8.count > template.prefix.utf8.count + template.suffix.utf8.count,
                  utf8.starts(with: template.prefix.utf8), utf8.reversed().starts(with: template.suffix.utf8.reversed()) else { continue }
            let tenant = utf8.dropFirst(template.prefix.utf8.count).dropLast(template.suffix.utf8.count)
            guard case .string(let tid)? = claims["tid"], tid.utf8.elementsEqual(tenant) else {
                return .failure(TokenError("issuer_tenant_mismatch", "the token's issuer does not name its own tenant"))
            }
            guard template.tenants.contains(tid.lowercased()) else {
                return .failure(TokenError("tenant_not_allowed", "the token's tenant is not allowed here"))
            }
            return .success(issuer)
        }
        return .failure(TokenError("issuer_not_trusted", "the token's issuer is not trusted here"))
    }
}

/// A token that passed, and whether the cache answered.
public struct Validated: Sendable {
    public let identity: Identity
    public let cached: Bool
}

/// The key sets of all issuers at one moment; replaced whole when one changes.
public final class KeySnapshot: Sendable {
    public let sets: [String: KeySet]
    /// When each fetched set was fetched (wall-clock seconds), for `max_stale`; a set from a
    /// file the operator gave (`jwks_file`, `bootstrap_jwks`) has none and does not age.
    public let fetchedAt: [String: Double]

    public init(sets: [String: KeySet], fetchedAt: [String: Double] = [:]) {
        self.sets = sets
        self.fetchedAt = fetchedAt
    }

    /// Identifiers (`issuer kid`) of every key, to drop cache entries of removed keys.
    public var keyIDs: Set<String> {
        Set(sets.flatMap { issuer, set in set.keys.map { issuer + " " + ($0.kid ?? $0.x5t ?? "-") } })
    }
}
