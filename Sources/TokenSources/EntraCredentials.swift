import Config
import KeyFetcher
import Tokens

/// Client credentials with a client secret: a form POST to the token endpoint.
struct ClientSecretCredential: Credential {
    let endpoint: String
    let clientID: String
    let secretFile: LocatedValue
    let caFile: String?

    var shape: TokenAnswer.Shape { .entra }

    func request(scope: String, wallNow: Int64) throws(TokenSourceError) -> HTTPFetch.Request {
        let secret: String
        do {
            secret = try CredentialFiles.secret(secretFile)
        } catch {
            throw .unreadable(error)
        }
        return .form(endpoint, FormEncoding.encode([
            ("grant_type", "client_credentials"), ("client_id", clientID), ("client_secret", secret), ("scope", scope),
        ]), headers: ["Accept: application/json"], caFile: caFile)
    }
}

/// Client credentials with a certificate: a client assertion (`private_key_jwt`, RFC 7523)
/// signed RS256 with the certificate's key and naming the certificate by `x5t#S256`.
struct ClientCertificateCredential: Credential {
    /// How long an assertion is valid: long enough for the request, short enough to be useless
    /// if it leaked.
    static let assertionLifetime: Int64 = 600

    let endpoint: String
    let clientID: String
    let certificate: LocatedValue
    let key: LocatedValue
    let caFile: String?

    var shape: TokenAnswer.Shape { .entra }

    func request(scope: String, wallNow: Int64) throws(TokenSourceError) -> HTTPFetch.Request {
        let assertion = try self.assertion(wallNow: wallNow)
        return .form(endpoint, FormEncoding.encode([
            ("grant_type", "client_credentials"), ("client_id", clientID), ("scope", scope),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"), ("client_assertion", assertion),
        ]), headers: ["Accept: application/json"], caFile: caFile)
    }

    func assertion(wallNow: Int64) throws(TokenSourceError) -> String {
        let signer: SigningKey
        let thumbprint: String
        do {
            signer = try CredentialFiles.rsaKey(key)
            thumbprint = try CredentialFiles.certificate(certificate).sha256Thumbprint
        } catch {
            throw .unreadable(error)
        }
        var random = SystemRandomNumberGenerator()
        let jti = Base64URL.encode((0..<16).map { _ in UInt8.random(in: 0...255, using: &random) })
        let claims = JSONValue.object([
            ("aud", .string(endpoint)), ("iss", .string(clientID)), ("sub", .string(clientID)), ("jti", .string(jti)),
            ("nbf", .number(Double(wallNow))), ("iat", .number(Double(wallNow))),
            ("exp", .number(Double(wallNow + Self.assertionLifetime))),
        ])
        do {
            return try signer.mint(claims: claims.serialized, kid: nil, algorithm: .rs256, extraHeader: [("x5t#S256", .string(thumbprint))])
        } catch {
            throw TokenSourceError("assertion_failed", "the client assertion could not be signed: \(error)")
        }
    }
}

/// Workload identity (AKS): the federated token the platform writes to a file is the client
/// assertion. The file is re-read at every fetch, as the platform replaces it.
struct WorkloadIdentityCredential: Credential {
    let endpoint: String
    let clientID: String
    let tokenFile: LocatedValue
    let caFile: String?

    var shape: TokenAnswer.Shape { .entra }

    func request(scope: String, wallNow: Int64) throws(TokenSourceError) -> HTTPFetch.Request {
        let assertion: String
        do {
            assertion = try CredentialFiles.secret(tokenFile)
        } catch {
            throw .unreadable(error)
        }
        return .form(endpoint, FormEncoding.encode([
            ("grant_type", "client_credentials"), ("client_id", clientID), ("scope", scope),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"), ("client_assertion", assertion),
        ]), headers: ["Accept: application/json"], caFile: caFile)
    }
}
