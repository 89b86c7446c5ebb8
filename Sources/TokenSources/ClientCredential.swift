import Config
import KeyFetcher
import Tokens

/// Entra's client credentials grant: a form POST to the token endpoint with the client id and
/// the scope, and one proof of who the client is, read from its files at every request.
struct ClientCredential: Credential {
    enum Proof: Sendable {
        /// `client_secret`: the file's contents without the trailing newline.
        case secret(LocatedValue)
        /// A client assertion this side signs with the certificate's key.
        case certificate(ClientAssertionSigner)
        /// A client assertion someone else wrote to a file (workload identity's federated
        /// token, which the platform replaces as it expires).
        case federatedToken(LocatedValue)
    }

    let endpoint: String
    let clientID: String
    let proof: Proof
    let caFile: String?

    var shape: TokenAnswer.Shape { .entra }

    func request(scope: String, wallNow: Int64) throws(TokenSourceError) -> HTTPFetch.Request {
        var fields = [("grant_type", "client_credentials"), ("client_id", clientID), ("scope", scope)]
        switch proof {
        case .secret(let file):
            fields.append(("client_secret", try CredentialFiles.atFetch { () throws(ConfigError) in try CredentialFiles.secret(file) }))
        case .certificate(let signer):
            fields += Self.assertion(try signer.assertion(clientID: clientID, audience: endpoint, wallNow: wallNow))
        case .federatedToken(let file):
            fields += Self.assertion(try CredentialFiles.atFetch { () throws(ConfigError) in try CredentialFiles.secret(file) })
        }
        return .form(endpoint, FormEncoding.encode(fields), headers: ["Accept: application/json"], caFile: caFile)
    }

    /// A client assertion as the proof (RFC 7523 §2.2).
    static func assertion(_ assertion: String) -> [(String, String)] {
        [("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"), ("client_assertion", assertion)]
    }
}
