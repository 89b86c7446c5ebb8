/// What an event loop gets when it asks for a token: one to send now, or why there is none.
/// The answer never waits: a source with no valid token says so at once, and the egress
/// answers 503 with the reason.
public enum TokenLookup: Sendable, Equatable {
    /// An access token, valid now, for `Authorization: Bearer …`.
    case token(String)
    /// No valid token: the source is unknown, the first fetch has not finished, or fetching
    /// fails and the last token has expired. The reason is for the 503 body and the log; it
    /// never holds a secret or a token.
    case unavailable(reason: String)
}
