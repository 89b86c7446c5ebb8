/// A compact JWS taken apart by the same strict parser the validator uses: its header and its
/// claim set, for code that reads members the validator does not, such as a client assertion's
/// `x5t#S256` (the dev issuer) or a token's `exp` (tests, tooling).
///
/// Decoding proves nothing: call ``verify(with:)`` before trusting a member.
public struct DecodedJWS: Sendable {
    public let algorithm: JWSAlgorithm
    /// The protected header (a JSON object).
    public let header: JSONValue
    /// The payload as a JSON object.
    public let claims: JSONValue
    private let token: [UInt8]

    /// Splits and decodes `token`; a malformed one (see ``TokenError``) is refused with the
    /// validator's reason, `alg: none` included.
    public init(_ token: String) throws(TokenError) {
        let bytes = Array(token.utf8)
        // withUnsafeBytes rethrows untyped errors; a Result carries the typed one across it.
        let parsed = bytes.withUnsafeBytes { raw in Result { () throws(TokenError) in try CompactJWS.parseProtected(raw) } }
        let jws = try parsed.get()
        guard let claims = JSONParser.parse(jws.payload, maxDepth: 8), case .object = claims else {
            throw .malformed("the payload is not a JSON object (or repeats a claim)")
        }
        algorithm = jws.algorithm
        header = jws.header
        self.claims = claims
        self.token = bytes
    }

    /// Whether the signature verifies with `key` (whose type and own `alg` must permit the
    /// token's algorithm).
    public func verify(with key: VerificationKey) -> Bool {
        token.withUnsafeBytes { JWSVerification.verify($0, key: key) }
    }
}
