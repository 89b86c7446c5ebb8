import Config
import Tokens

/// Signs client assertions (`private_key_jwt`, RFC 7523) with a certificate's key: RS256, the
/// certificate named by `x5t#S256`, `iss` = `sub` = the client id, `aud` the token endpoint,
/// a fresh `jti`, valid for 10 minutes. The certificate and key are read at every signing.
struct ClientAssertionSigner: Sendable {
    /// Long enough for the request, short enough to be useless if it leaked.
    static let lifetime: Int64 = 600

    let certificate: LocatedValue
    let key: LocatedValue

    func assertion(clientID: String, audience: String, wallNow: Int64) throws(TokenSourceError) -> String {
        let signer = try CredentialFiles.atFetch { () throws(ConfigError) in try CredentialFiles.rsaKey(key) }
        let thumbprint = try CredentialFiles.atFetch { () throws(ConfigError) in try CredentialFiles.certificate(certificate) }.sha256Thumbprint
        var random = SystemRandomNumberGenerator()
        let jti = Base64URL.encode((0..<16).map { _ in UInt8.random(in: 0...255, using: &random) })
        let claims = JSONValue.object([
            ("aud", .string(audience)), ("iss", .string(clientID)), ("sub", .string(clientID)), ("jti", .string(jti)),
            ("nbf", .number(Double(wallNow))), ("iat", .number(Double(wallNow))), ("exp", .number(Double(wallNow + Self.lifetime))),
        ])
        do {
            return try signer.mint(claims: claims.serialized, kid: nil, algorithm: .rs256, extraHeader: [("x5t#S256", .string(thumbprint))])
        } catch {
            throw TokenSourceError("assertion_failed", "the client assertion could not be signed: \(error)")
        }
    }
}
