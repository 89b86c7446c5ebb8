/// What a valid token says about its caller: what authorization checks and the identity headers
/// need, extracted once so a cache hit costs no parsing.
public final class Identity: Sendable {
    public let issuer: String
    public let subject: String?
    /// `oid`: the caller's object id.
    public let objectID: String?
    public let tenantID: String?
    /// `appid` (v1) or `azp` (v2): the calling application.
    public let applicationID: String?
    public let roles: [String]
    public let scopes: [String]
    public let name: String?
    public let expiresAt: Double
    public let notBefore: Double?
    /// Header lines for the upstream (`Name: value`), built once.
    public let upstreamHeaders: [String]

    init(issuer: String, claims: JSONValue, expiresAt: Double, notBefore: Double?, headers: IdentityHeaderSettings) {
        self.issuer = issuer
        subject = claims["sub"]?.string
        objectID = claims["oid"]?.string
        tenantID = claims["tid"]?.string
        applicationID = claims["appid"]?.string ?? claims["azp"]?.string
        if case .array(let values)? = claims["roles"] {
            roles = values.compactMap(\.string)
        } else {
            roles = []
        }
        scopes = claims["scp"]?.string?.split(separator: " ").map(String.init) ?? []
        name = claims["name"]?.string ?? claims["preferred_username"]?.string ?? claims["upn"]?.string ?? applicationID
        self.expiresAt = expiresAt
        self.notBefore = notBefore
        upstreamHeaders = EasyAuth.headers(claims: claims, objectID: objectID ?? subject, name: name, settings: headers)
    }
}

/// Which identity headers the upstream gets (`identity_headers`, `claim_headers`).
public struct IdentityHeaderSettings: Sendable {
    public var easyAuth: Bool
    public var claimHeaders: [(header: String, claim: String)]

    public init(easyAuth: Bool, claimHeaders: [(header: String, claim: String)]) {
        self.easyAuth = easyAuth
        self.claimHeaders = claimHeaders
    }
}
