import Tokens

/// Azure App Service's managed-identity protocol (api-version 2019-08-01), as the platform
/// serves it at `IDENTITY_ENDPOINT`: `GET ?resource=...&api-version=2019-08-01` with the
/// `X-IDENTITY-HEADER` secret, answered with a token for the one configured client, so an
/// unmodified app using a managed-identity credential gets dev tokens.
struct ManagedIdentityEndpoint: Sendable {
    static let apiVersion = "2019-08-01"

    let service: TokenService
    let client: Directory.RegisteredClient
    let headerSecret: [UInt8]

    func respond(_ request: IssuerRequest) -> IssuerResponse {
        guard request.method == .get else { return refusal(405, "use GET") }
        guard let presented = request.header("x-identity-header"),
              TokenService.constantTimeEqual(Array(presented.utf8), headerSecret) else {
            return refusal(401, "the X-IDENTITY-HEADER header is missing or wrong")
        }
        guard request.query["api-version"] == Self.apiVersion else {
            return refusal(400, "api-version must be \(Self.apiVersion)")
        }
        guard let resource = request.query["resource"], !resource.isEmpty else {
            return refusal(400, "the resource parameter is required")
        }
        guard !resource.hasSuffix("/.default") else {
            return refusal(400, "resource is a resource URI, without /.default (that suffix belongs to a scope)")
        }
        if let wanted = request.query["client_id"], wanted.lowercased() != client.settings.clientID.lowercased() {
            return refusal(400, "no managed identity with client_id \(wanted) is assigned to this app")
        }
        for unsupported in ["principal_id", "mi_res_id", "object_id"] where request.query[unsupported] != nil {
            return refusal(400, "\(unsupported) is not supported by the dev issuer; use client_id or nothing")
        }
        switch service.issue(to: client, for: resource, proof: .certificate, now: Identifiers.now()) {
        case .failure(let error):
            return refusal(400, error.description)
        case .success(let issued):
            return .json(200, .object([
                ("access_token", .string(issued.accessToken)),
                ("expires_on", .string(String(issued.expiresOn))),
                ("resource", .string(issued.resource)),
                ("token_type", .string("Bearer")),
                ("client_id", .string(client.settings.clientID)),
            ]))
        }
    }

    /// The platform's error shape: a status code and a message.
    private func refusal(_ status: Int, _ message: String) -> IssuerResponse {
        .json(status, .object([("statusCode", .number(Double(status))), ("message", .string(message)),
                               ("correlationId", .string(Identifiers.random()))]))
    }
}
