/// Why a token could not be obtained: a stable code (for the log and the 503 body) and a
/// reason for a person. Never carries a secret or a token.
public struct TokenSourceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `AADSTS7000215` (and the like) when the identity provider said why; otherwise one of
    /// `transfer_failed`, `http_<status>`, `bad_response`, `credential_unreadable`,
    /// `assertion_failed`.
    public let code: String
    public let reason: String

    public init(_ code: String, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(code): \(reason)" }
}
