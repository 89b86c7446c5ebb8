import Config
import DevIssuer
import Foundation
import IssuerTestSupport
import KeyFetcher
import Synchronization
import Tokens

/// The claims of a token, decoded (not verified): for checking shapes.
func claims(_ token: String) throws -> JSONValue {
    try DecodedJWS(token).claims
}

/// A client-credentials request for service A with its secret.
func secretRequest(_ issuer: DevIssuer, scope: String = "api://service-b/.default",
                   secret: String = TestIssuer.secretA, client: String = TestIssuer.serviceA) -> TestHTTP.Answer {
    TestHTTP.post(issuer.tokenEndpoint, form: [("grant_type", "client_credentials"), ("client_id", client),
                                               ("client_secret", secret), ("scope", scope)])
}

/// The access token of a successful answer.
func accessToken(_ answer: TestHTTP.Answer) -> String? {
    answer.json?["access_token"]?.string
}

/// The AADSTS code of a refusal.
func aadsts(_ answer: TestHTTP.Answer) -> Int? {
    guard case .array(let codes)? = answer.json?["error_codes"], let first = codes.first?.number else { return nil }
    return Int(first)
}

/// Portcullis' own validator for one of the dev issuer's issuers, its keys fetched the way
/// `serve` fetches them (OIDC discovery through the KeyFetcher), trusting `ca` (`auth.issuers[].ca`)
/// for an https issuer.
struct IngressCheck {
    let validator: TokenValidator
    let requirement: AuthorizationRequirement
    let keys: KeySnapshot

    init(issuer: String, discovery: String, audience: String, requiredRoles: [String] = [], ca: String? = nil) throws {
        let config = try PortcullisConfig.parse(yaml: """
        listeners: [{address: "127.0.0.1:1"}]
        upstream: {url: "http://127.0.0.1:2"}
        auth:
          issuers:
            - issuer: \(issuer)
              discovery_url: \(discovery)
              audiences: [\(audience)]
              \(ca.map { "ca: \($0)" } ?? "")
          authorization: {required_roles: [\(requiredRoles.joined(separator: ", "))]}
        """)
        guard let auth = config.auth, let source = auth.issuers.first else { throw CheckError("no auth section") }
        let published = Mutex<KeySet?>(nil)
        let sources = [KeyFetcher.Source(issuer: issuer, location: source.keySource, caFile: source.ca?.value)]
        let fetcher = KeyFetcher(sources: sources, settings: auth.keys) { _, set in
            published.withLock { $0 = set }
        }
        fetcher.start()
        fetcher.stop()
        guard let set = published.withLock({ $0 }) else { throw CheckError("the keys were not fetched") }
        validator = TokenValidator(auth)
        requirement = AuthorizationRequirement(auth.authorization)
        keys = KeySnapshot(sets: [issuer: set])
    }

    func validate(_ token: String) -> Result<Validated, TokenError> {
        Array(token.utf8).withUnsafeBytes { validator.validate(token: $0, keys: keys, now: Date().timeIntervalSince1970) }
            .flatMap(requirement.authorize)
    }
}

struct CheckError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
