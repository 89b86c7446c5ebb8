public import Config

/// What a genuine token must hold for one request: `auth.authorization`, or the `require` of the
/// route the request matched. Compiled once per configuration into an ordered list of
/// ``AuthorizationPolicy`` values (allow-lists first, then roles, then scopes); checking runs
/// them in order, allocates nothing, and stops at the first refusal.
public struct AuthorizationRequirement: Sendable {
    let policies: [any AuthorizationPolicy]

    public init(_ settings: AuthorizationSettings) {
        var policies: [any AuthorizationPolicy] = []
        if !settings.allowedApplications.isEmpty { policies.append(AllowListPolicy.applications(settings.allowedApplications)) }
        if !settings.allowedPrincipals.isEmpty { policies.append(AllowListPolicy.principals(settings.allowedPrincipals)) }
        if !settings.allowedTenants.isEmpty { policies.append(AllowListPolicy.tenants(settings.allowedTenants)) }
        for (values, claim) in [(settings.roles, RequiredValuesPolicy.Claim.roles), (settings.scopes, .scopes)] {
            for value in values.allOf { policies.append(RequiredValuesPolicy.allOf(value, claim)) }
            if !values.anyOf.isEmpty { policies.append(RequiredValuesPolicy.anyOf(values.anyOf, claim)) }
        }
        self.policies = policies
    }

    /// Nil when the identity meets every requirement; else the first one it does not
    /// (403: `insufficient_scope` for roles and scopes, plain for the allow-lists).
    @inline(__always)
    public func check(_ identity: Identity) -> TokenError? {
        for policy in policies {
            if let error = policy.check(identity) { return error }
        }
        return nil
    }

    /// The identity when it meets every requirement, for callers that carry a `Result`.
    public func authorize(_ validated: Validated) -> Result<Validated, TokenError> {
        check(validated.identity).map { .failure($0) } ?? .success(validated)
    }
}
