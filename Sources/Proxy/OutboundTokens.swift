/// Tokens for outgoing calls, as the token sources hold them (the egress side asks once per
/// request, on its loop, so an answer never waits for the identity provider).
public protocol OutboundTokens: Sendable {
    /// The token for `scope` from `source` when a valid one is held, else why there is none.
    func bearer(source: String, scope: String) -> OutboundToken
}

public enum OutboundToken: Sendable, Equatable {
    case token(String)
    /// No valid token right now (never fetched, or expired while the provider fails): the
    /// reason goes into the 503 the app gets.
    case unavailable(String)
}
