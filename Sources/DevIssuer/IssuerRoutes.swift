import HTTP1
import Synchronization
import Tokens

/// Which answer a request gets. Everything is answered at once except a key rotation, which
/// generates an RSA key and so runs off the event loop (``Routed/rotate``).
struct IssuerRoutes: Sendable {
    enum Routed {
        case respond(IssuerResponse)
        /// Rotate the signing key on another thread, then answer.
        case rotate
    }

    /// Token requests answered (both endpoints and managed identity), for tests and the demo.
    final class Counter: Sendable {
        private let count = Atomic<Int>(0)
        func add() { count.add(1, ordering: .relaxed) }
        var value: Int { count.load(ordering: .relaxed) }
    }

    let service: TokenService
    let managedIdentity: ManagedIdentityEndpoint?
    let counter: Counter

    var baseURL: String { service.baseURL }
    var tenantID: String { service.directory.settings.tenantID }

    func route(_ request: IssuerRequest) -> Routed {
        let segments = request.segments
        let correlation = request.header("client-request-id")
        switch segments.count {
        case 1 where segments[0] == "healthz":
            return .respond(.text(200, "ok\n"))
        case 2 where segments[0] == "admin" && segments[1] == "rotate":
            guard request.method == .post else { return .respond(.text(405, "use POST\n")) }
            // Only a process on this machine may rotate, even when --allow-remote serves others.
            guard request.fromLoopback else { return .respond(.text(403, "key rotation is taken from loopback only\n")) }
            return .rotate
        case 2 where segments[0] == "msi" && segments[1] == "token":
            guard let managedIdentity else { return .respond(.text(404, "no managed_identity is configured\n")) }
            counter.add()
            return .respond(managedIdentity.respond(request))
        default:
            break
        }
        guard let tenant = segments.first, !tenant.isEmpty else {
            return .respond(.text(404, "not found; the dev issuer serves /{tenant}/v2.0/.well-known/openid-configuration and the endpoints it names\n"))
        }
        let rest = segments.dropFirst().map(String.init)
        let isKeys = rest == ["discovery", "v2.0", "keys"] || rest == ["discovery", "keys"]
        // The keys are the same for every tenant path Entra serves them under, and the
        // multi-tenant paths' discovery names the issuer as a `{tenantid}` template.
        if ["common", "organizations"].contains(tenant) {
            switch rest {
            case _ where isKeys:
                return .respond(keys(request))
            case ["v2.0", ".well-known", "openid-configuration"]:
                return .respond(get(request) ?? .json(200, DiscoveryDocument.v2(base: baseURL, tenant: String(tenant), issuerTenant: "{tenantid}")))
            case [".well-known", "openid-configuration"]:
                return .respond(get(request) ?? .json(200, DiscoveryDocument.v1(base: baseURL, tenant: String(tenant), issuerTenant: "{tenantid}")))
            default:
                break
            }
        }
        guard tenant.lowercased() == tenantID.lowercased() else {
            if rest.first == "oauth2" { counter.add() }
            return .respond(.entra(.tenantNotFound(String(tenant)), baseURL: baseURL, correlationID: correlation))
        }
        switch rest {
        case ["v2.0", ".well-known", "openid-configuration"]:
            return .respond(get(request) ?? .json(200, DiscoveryDocument.v2(base: baseURL, tenant: tenantID)))
        case [".well-known", "openid-configuration"]:
            return .respond(get(request) ?? .json(200, DiscoveryDocument.v1(base: baseURL, tenant: tenantID)))
        case _ where isKeys:
            return .respond(keys(request))
        case ["oauth2", "v2.0", "token"]:
            counter.add()
            return .respond(token(request, .v2, correlation))
        case ["oauth2", "token"]:
            counter.add()
            return .respond(token(request, .v1, correlation))
        case ["oauth2", "v2.0", "authorize"], ["oauth2", "authorize"], ["oauth2", "v2.0", "devicecode"]:
            return .respond(.text(501, "the dev issuer implements the client credentials grant and managed identity only; it has no sign-in pages\n"))
        default:
            return .respond(.text(404, "not found; the dev issuer serves /{tenant}/v2.0/.well-known/openid-configuration and the endpoints it names\n"))
        }
    }

    /// Nil when the method is GET or HEAD, else the refusal.
    private func get(_ request: IssuerRequest) -> IssuerResponse? {
        request.method == .get || request.method == .head ? nil : .text(405, "use GET\n")
    }

    private func keys(_ request: IssuerRequest) -> IssuerResponse {
        if let refusal = get(request) { return refusal }
        // As Entra's: a day's caching is allowed; a rotation reaches validators through their
        // refetch on an unknown kid.
        return IssuerResponse(status: 200, contentType: "application/json; charset=utf-8", body: service.keys.jwks(),
                              headers: ["Cache-Control: max-age=86400, private"])
    }

    private func token(_ request: IssuerRequest, _ endpoint: TokenService.Endpoint, _ correlation: String?) -> IssuerResponse {
        guard request.method == .post else {
            return .entra(.postOnly(request.methodName), baseURL: baseURL, correlationID: correlation)
        }
        // A body that is not a form has no parameters, so Entra's answer is the missing
        // grant_type; a form that does not parse is malformed.
        let form: FormFields
        do {
            form = request.hasFormBody ? try FormFields(parsing: request.body) : FormFields()
        } catch {
            return .entra(.malformed(error.reason), baseURL: baseURL, correlationID: correlation)
        }
        switch service.clientCredentials(form, authorization: request.header("authorization"), endpoint: endpoint, now: Identifiers.now()) {
        case .success(let answer):
            var response = IssuerResponse.json(200, answer)
            if let correlation { response.headers.append("client-request-id: \(correlation)") }
            return response
        case .failure(let error):
            return .entra(error, baseURL: baseURL, correlationID: correlation)
        }
    }
}
