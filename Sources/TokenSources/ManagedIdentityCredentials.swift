import KeyFetcher

/// Azure App Service's managed identity (api-version 2019-08-01): a GET to
/// `IDENTITY_ENDPOINT` with `X-IDENTITY-HEADER: IDENTITY_HEADER`, the scope without
/// `/.default` as `resource`, and `client_id` for a user-assigned identity.
struct AppServiceIdentityCredential: Credential {
    let endpoint: String
    let identityHeader: String
    let clientID: String?
    let caFile: String?

    var shape: TokenAnswer.Shape { .managedIdentity }

    func request(scope: String, wallNow: Int64) throws(TokenSourceError) -> HTTPFetch.Request {
        var query = [("api-version", "2019-08-01"), ("resource", Self.resource(fromScope: scope))]
        if let clientID { query.append(("client_id", clientID)) }
        return HTTPFetch.Request(url: Self.url(endpoint, query),
                                 headers: ["X-IDENTITY-HEADER: \(identityHeader)", "Accept: application/json"], caFile: caFile)
    }
}

/// The Azure instance metadata service's managed identity (api-version 2018-02-01): a GET
/// with `Metadata: true`, the scope without `/.default` as `resource`.
struct IMDSCredential: Credential {
    static let defaultEndpoint = "http://169.254.169.254/metadata/identity/oauth2/token"

    let endpoint: String
    let clientID: String?
    let caFile: String?

    var shape: TokenAnswer.Shape { .managedIdentity }

    func request(scope: String, wallNow: Int64) throws(TokenSourceError) -> HTTPFetch.Request {
        var query = [("api-version", "2018-02-01"), ("resource", Self.resource(fromScope: scope))]
        if let clientID { query.append(("client_id", clientID)) }
        return HTTPFetch.Request(url: Self.url(endpoint, query),
                                 headers: ["Metadata: true", "Accept: application/json"], caFile: caFile)
    }
}
