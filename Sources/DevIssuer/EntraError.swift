import Config
import Tokens

/// A refusal as Entra ID words it: an OAuth `error`, an `AADSTS` code with its message, and the
/// HTTP status Entra uses (401 for `invalid_client`, else 400). The codes and messages are
/// Entra's own, so a client's error handling (and a person reading a log) sees what it would
/// see against the real service.
struct EntraError: Error, Sendable, Equatable {
    let error: String
    let code: Int
    let message: String

    var status: Int { error == "invalid_client" ? 401 : 400 }

    /// The AADSTS-prefixed description, as Entra starts `error_description`.
    var description: String { "AADSTS\(code): \(message)" }

    /// The JSON body Entra sends, with the trace and correlation ids and the time appended to
    /// the description as Entra does. `correlationID` echoes the client's `client-request-id`.
    func body(baseURL: String, correlationID: String?, now: Int64) -> [UInt8] {
        let trace = Identifiers.random()
        let correlation = correlationID ?? Identifiers.random()
        let timestamp = Identifiers.timestamp(now)
        let document = JSONValue.object([
            ("error", .string(error)),
            ("error_description", .string("\(description)\r\nTrace ID: \(trace)\r\nCorrelation ID: \(correlation)\r\nTimestamp: \(timestamp)")),
            ("error_codes", .array([.number(Double(code))])),
            ("timestamp", .string(timestamp)),
            ("trace_id", .string(trace)),
            ("correlation_id", .string(correlation)),
            ("error_uri", .string("\(baseURL)/error?code=\(code)")),
        ])
        return Array(document.serialized.utf8)
    }

    // MARK: The refusals the dev issuer makes

    static func missingParameter(_ name: String) -> EntraError {
        EntraError(error: "invalid_request", code: 900144, message: "The request body must contain the following parameter: '\(name)'.")
    }

    static func malformed(_ reason: String) -> EntraError {
        EntraError(error: "invalid_request", code: 9002313, message: "Invalid request. Request is malformed or invalid: \(reason).")
    }

    static func postOnly(_ method: String) -> EntraError {
        EntraError(error: "invalid_request", code: 900561, message: "The endpoint only accepts POST, OPTIONS requests. Received a \(method) request.")
    }

    static func tenantNotFound(_ tenant: String) -> EntraError {
        EntraError(error: "invalid_tenant", code: 90002,
                   message: "Tenant '\(tenant)' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")
    }

    static func unsupportedGrant(_ grant: String) -> EntraError {
        EntraError(error: "unsupported_grant_type", code: 70003,
                   message: "The app requested an unsupported grant type '\(grant)'. The dev issuer implements client_credentials only.")
    }

    static func unknownClient(_ clientID: String, tenant: String) -> EntraError {
        EntraError(error: "unauthorized_client", code: 700016,
                   message: "Application with identifier '\(clientID)' was not found in the directory '\(tenant)'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.")
    }

    static let noCredential = EntraError(error: "invalid_client", code: 7000218,
                                         message: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")

    static func invalidSecret(_ clientID: String) -> EntraError {
        EntraError(error: "invalid_client", code: 7000215,
                   message: "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '\(clientID)'.")
    }

    static func assertion(_ code: Int, _ message: String) -> EntraError {
        EntraError(error: "invalid_client", code: code, message: message)
    }

    static func missingScope() -> EntraError {
        EntraError(error: "invalid_scope", code: 70011, message: "The provided request must include a 'scope' input parameter.")
    }

    static func invalidScope(_ scope: String) -> EntraError {
        EntraError(error: "invalid_scope", code: 70011,
                   message: "The provided value for the input parameter 'scope' is not valid. The scope \(scope) is not valid.")
    }

    static func scopeNeedsDefault(_ scope: String) -> EntraError {
        EntraError(error: "invalid_scope", code: 1002012,
                   message: "The provided value for scope \(scope) is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")
    }

    static func unknownResource(_ resource: String, tenant: String) -> EntraError {
        EntraError(error: "invalid_resource", code: 500011,
                   message: "The resource principal named \(resource) was not found in the tenant named \(tenant). This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.")
    }

    static func notAssigned(client: DevIssuerSettings.Client, application: DevIssuerSettings.Application, resource: String) -> EntraError {
        EntraError(error: "invalid_grant", code: 501051,
                   message: "Application '\(client.clientID)'(\(client.name)) is not assigned to a role for the application '\(resource)'(\(application.name)).")
    }
}
