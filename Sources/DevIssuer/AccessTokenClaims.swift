import Tokens

/// The claims of an app-only access token in Entra's v1.0 or v2.0 shape, chosen by the
/// application's `access_token_version` (as Entra chooses by the resource's
/// `accessTokenAcceptedVersion`, not by the endpoint the client called).
///
/// - v1.0: `iss` = `https://sts.windows.net/{tid}/`, `aud` = the resource as requested (the
///   identifier URI, or the client id), `appid` and `appidacr`, `idp`.
/// - v2.0: `iss` = `{base}/{tid}/v2.0`, `aud` = the application's client id, `azp` and `azpacr`.
/// - both: `iat`, `nbf`, `exp`, `oid` and `sub` (the client's object id), `tid`, `roles` when
///   the client holds any, `uti`, `ver`.
struct AccessTokenClaims {
    /// How the client proved itself: `appidacr`/`azpacr` 1 is a secret, 2 a certificate (or a
    /// managed identity, which Entra also reports as 2).
    enum Proof: String { case secret = "1", certificate = "2" }

    let tenantID: String
    let baseURL: String

    static func v1Issuer(tenant: String) -> String { "https://sts.windows.net/\(tenant)/" }

    static func v2Issuer(base: String, tenant: String) -> String { "\(base)/\(tenant)/v2.0" }

    func claims(client: Directory.RegisteredClient, resource: Directory.Resource, roles: [String], proof: Proof,
                now: Int64, lifetime: Int64) -> JSONValue {
        let v2 = resource.application.accessTokenVersion == 2
        var members: [(String, JSONValue)] = [
            ("aud", .string(v2 ? resource.application.clientID : resource.identifier)),
            ("iss", .string(v2 ? Self.v2Issuer(base: baseURL, tenant: tenantID) : Self.v1Issuer(tenant: tenantID))),
            ("iat", .number(Double(now))),
            ("nbf", .number(Double(now))),
            ("exp", .number(Double(now + lifetime))),
        ]
        if v2 {
            members += [("azp", .string(client.settings.clientID)), ("azpacr", .string(proof.rawValue))]
        } else {
            members += [("appid", .string(client.settings.clientID)), ("appidacr", .string(proof.rawValue)),
                        ("idp", .string(Self.v1Issuer(tenant: tenantID)))]
        }
        members += [("idtyp", .string("app")), ("oid", .string(client.objectID))]
        if !roles.isEmpty { members.append(("roles", .array(roles.map(JSONValue.string)))) }
        members += [
            ("sub", .string(client.objectID)),
            ("tid", .string(tenantID)),
            ("uti", .string(Identifiers.tokenID())),
            ("ver", .string(v2 ? "2.0" : "1.0")),
        ]
        return .object(members)
    }
}
