import Config
import Tokens

/// The token endpoints' logic apart from HTTP: who the client is, what the scope or resource
/// names, whether the client may have a token for it, and the signed token. Shared by the
/// client-credentials endpoints (v1 and v2) and the managed-identity endpoint.
final class TokenService: Sendable {
    enum Endpoint: Sendable {
        /// `/oauth2/v2.0/token`: `scope` ending in `/.default`; numbers as numbers.
        case v2
        /// `/oauth2/token`: `resource`; numbers as strings, as Entra's v1 endpoint writes them.
        case v1
    }

    /// A signed token and what the answer says about it.
    struct Issued: Sendable {
        let accessToken: String
        let expiresIn: Int64
        let expiresOn: Int64
        let notBefore: Int64
        let resource: String
    }

    let directory: Directory
    let keys: KeyRing
    let baseURL: String
    let lifetime: Int64
    private let assertions: ClientAssertion
    private let claims: AccessTokenClaims

    init(directory: Directory, keys: KeyRing, baseURL: String) {
        self.directory = directory
        self.keys = keys
        self.baseURL = baseURL
        let settings = directory.settings
        lifetime = max(1, settings.tokenLifetime.components.seconds)
        let tenant = settings.tenantID
        assertions = ClientAssertion(directory: directory, audiences: [
            "\(baseURL)/\(tenant)/oauth2/v2.0/token", "\(baseURL)/\(tenant)/oauth2/token",
            AccessTokenClaims.v2Issuer(base: baseURL, tenant: tenant),
        ])
        claims = AccessTokenClaims(tenantID: tenant, baseURL: baseURL)
    }

    /// `grant_type=client_credentials` from a form body, the client authenticated by a secret
    /// (in the form or HTTP Basic) or a client assertion. Returns the JSON answer.
    func clientCredentials(_ form: FormFields, authorization: String?, endpoint: Endpoint, now: Int64) -> Result<JSONValue, EntraError> {
        guard let grant = form["grant_type"] else { return .failure(.missingParameter("grant_type")) }
        guard grant == "client_credentials" else { return .failure(.unsupportedGrant(grant)) }
        let client: Directory.RegisteredClient
        let proof: AccessTokenClaims.Proof
        switch authenticate(form, authorization: authorization, now: now) {
        case .failure(let error): return .failure(error)
        case .success(let found): (client, proof) = found
        }
        let requested: String
        switch endpoint {
        case .v2:
            guard let scope = form["scope"] else { return .failure(.missingParameter("scope")) }
            let scopes = scope.split(separator: " ")
            guard scopes.count == 1, let only = scopes.first else {
                return .failure(scopes.isEmpty ? .missingScope() : .invalidScope(scope))
            }
            guard only.hasSuffix("/.default"), only.count > 9 else { return .failure(.scopeNeedsDefault(String(only))) }
            requested = String(only.dropLast(9))
        case .v1:
            guard let resource = form["resource"], !resource.isEmpty else { return .failure(.missingParameter("resource")) }
            requested = resource
        }
        return issue(to: client, for: requested, proof: proof, now: now).map { issued in
            switch endpoint {
            case .v2:
                .object([
                    ("token_type", .string("Bearer")),
                    ("expires_in", .number(Double(issued.expiresIn))),
                    ("ext_expires_in", .number(Double(issued.expiresIn))),
                    ("access_token", .string(issued.accessToken)),
                ])
            case .v1:
                .object([
                    ("token_type", .string("Bearer")),
                    ("expires_in", .string(String(issued.expiresIn))),
                    ("ext_expires_in", .string(String(issued.expiresIn))),
                    ("expires_on", .string(String(issued.expiresOn))),
                    ("not_before", .string(String(issued.notBefore))),
                    ("resource", .string(issued.resource)),
                    ("access_token", .string(issued.accessToken)),
                ])
            }
        }
    }

    /// A token for `client` to call `resource` (an identifier URI or client id, no
    /// `/.default`), if the application lets it have one.
    func issue(to client: Directory.RegisteredClient, for requested: String, proof: AccessTokenClaims.Proof,
               now: Int64) -> Result<Issued, EntraError> {
        guard let resource = directory.resource(requested) else {
            return .failure(.unknownResource(requested, tenant: directory.settings.tenantID))
        }
        let application = resource.application
        let (assigned, roles) = directory.roles(of: client.settings.clientID, on: application.clientID)
        if application.assignmentRequired && !assigned {
            return .failure(.notAssigned(client: client.settings, application: application, resource: resource.identifier))
        }
        let body = claims.claims(client: client, resource: resource, roles: roles, proof: proof, now: now, lifetime: lifetime)
        let signer = keys.current
        guard let token = try? signer.key.mint(claims: body.serialized, kid: signer.kid, algorithm: .rs256) else {
            return .failure(EntraError(error: "temporarily_unavailable", code: 90033, message: "A transient error has occurred: the token could not be signed."))
        }
        return .success(Issued(accessToken: token, expiresIn: lifetime, expiresOn: now + lifetime, notBefore: now,
                               resource: resource.identifier))
    }

    /// The client and how it proved itself: exactly one of a client assertion, a secret in the
    /// form, or HTTP Basic (RFC 6749 §2.3.1: a client uses one method per request).
    private func authenticate(_ form: FormFields, authorization: String?,
                              now: Int64) -> Result<(Directory.RegisteredClient, AccessTokenClaims.Proof), EntraError> {
        var clientID = form["client_id"]
        var secret = form["client_secret"]
        if let authorization, authorization.lowercased().hasPrefix("basic ") {
            guard secret == nil, form["client_assertion"] == nil else {
                return .failure(.malformed("more than one client authentication method"))
            }
            guard let (id, password) = Self.basicCredentials(String(authorization.dropFirst(6))) else {
                return .failure(.malformed("the Basic credentials are not base64 of 'client_id:client_secret'"))
            }
            guard clientID == nil || clientID == id else { return .failure(.malformed("client_id differs from the Basic credentials")) }
            clientID = id
            secret = password
        }
        if let assertion = form["client_assertion"] {
            guard secret == nil else { return .failure(.malformed("more than one client authentication method")) }
            guard let type = form["client_assertion_type"] else { return .failure(.missingParameter("client_assertion_type")) }
            guard type == ClientAssertion.type else {
                return .failure(.malformed("client_assertion_type must be \(ClientAssertion.type)"))
            }
            return assertions.verify(assertion, clientID: clientID, now: now).map { ($0, .certificate) }
        }
        guard let clientID else { return .failure(.missingParameter("client_id")) }
        guard let client = directory.client(id: clientID) else {
            return .failure(.unknownClient(clientID, tenant: directory.settings.tenantID))
        }
        guard let secret else { return .failure(.noCredential) }
        guard let expected = client.settings.clientSecret, Self.constantTimeEqual(Array(expected.utf8), Array(secret.utf8)) else {
            return .failure(.invalidSecret(client.settings.clientID))
        }
        return .success((client, .secret))
    }

    /// `base64(urlencode(id) ":" urlencode(secret))`.
    static func basicCredentials(_ encoded: String) -> (String, String)? {
        guard let decoded = Base64URL.decodeStandard(encoded.trimmingSpaces),
              let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        return decoded.withUnsafeBytes { raw -> (String, String)? in
            guard let id = try? FormFields.decode(UnsafeRawBufferPointer(rebasing: raw[..<colon])),
                  let secret = try? FormFields.decode(UnsafeRawBufferPointer(rebasing: raw[(colon + 1)...])),
                  !id.isEmpty else { return nil }
            return (id, secret)
        }
    }

    /// Compares without stopping at the first difference, so the time taken says nothing about
    /// how much of a guessed secret was right.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}

extension String {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
