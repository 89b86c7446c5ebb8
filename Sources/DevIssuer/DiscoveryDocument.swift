import Tokens

/// The OpenID Connect discovery documents of the tenant, in Entra's two forms: v2.0 (issuer
/// `{base}/{tid}/v2.0`, endpoints under `/oauth2/v2.0/`) and v1.0 (issuer
/// `https://sts.windows.net/{tid}/`, endpoints under `/oauth2/`). Members a client-credentials
/// client or a token validator reads are real; the interactive ones are listed because
/// libraries expect them, and answer that the dev issuer does not implement them.
enum DiscoveryDocument {
    /// `tenant` is the path segment; `issuerTenant` differs from it only for the multi-tenant
    /// paths (`organizations`, `common`), whose issuer is Entra's `{tenantid}` template.
    static func v2(base: String, tenant: String, issuerTenant: String? = nil) -> JSONValue {
        let root = "\(base)/\(tenant)"
        return document(
            issuer: AccessTokenClaims.v2Issuer(base: base, tenant: issuerTenant ?? tenant),
            oauth: "\(root)/oauth2/v2.0", jwks: "\(root)/discovery/v2.0/keys", extra: [
                ("device_authorization_endpoint", .string("\(root)/oauth2/v2.0/devicecode")),
            ])
    }

    static func v1(base: String, tenant: String, issuerTenant: String? = nil) -> JSONValue {
        let root = "\(base)/\(tenant)"
        return document(
            issuer: AccessTokenClaims.v1Issuer(tenant: issuerTenant ?? tenant),
            oauth: "\(root)/oauth2", jwks: "\(root)/discovery/keys", extra: [
                ("microsoft_multi_refresh_token", .bool(true)),
            ])
    }

    private static func document(issuer: String, oauth: String, jwks: String, extra: [(String, JSONValue)]) -> JSONValue {
        func strings(_ list: [String]) -> JSONValue { .array(list.map(JSONValue.string)) }
        return .object([
            ("token_endpoint", .string("\(oauth)/token")),
            ("token_endpoint_auth_methods_supported", strings(["client_secret_post", "private_key_jwt", "client_secret_basic"])),
            ("jwks_uri", .string(jwks)),
            ("response_modes_supported", strings(["query", "fragment", "form_post"])),
            ("subject_types_supported", strings(["pairwise"])),
            ("id_token_signing_alg_values_supported", strings(["RS256"])),
            ("response_types_supported", strings(["code", "id_token", "code id_token", "id_token token"])),
            ("scopes_supported", strings(["openid", "profile", "email", "offline_access"])),
            ("issuer", .string(issuer)),
            ("request_uri_parameter_supported", .bool(false)),
            ("authorization_endpoint", .string("\(oauth)/authorize")),
            ("http_logout_supported", .bool(true)),
            ("frontchannel_logout_supported", .bool(true)),
            ("end_session_endpoint", .string("\(oauth)/logout")),
            ("claims_supported", strings(["sub", "iss", "aud", "exp", "iat", "nbf", "oid", "tid", "ver", "roles", "appid", "azp"])),
            ("tenant_region_scope", .null),
            ("cloud_instance_name", .string("microsoftonline.com")),
        ] + extra)
    }
}
