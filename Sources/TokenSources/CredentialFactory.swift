import Config

/// Makes each configured source's credential, checking what it needs now: its files (read
/// once, so a bad one is a config error naming its key) and, for the platform kinds, the
/// environment the platform sets.
enum CredentialFactory {
    static func make(_ settings: TokenSourceSettings, environment: (String) -> String?) throws(ConfigError) -> any Credential {
        let ca = settings.ca?.value
        func required(_ variable: String, _ why: String) throws(ConfigError) -> String {
            guard let value = environment(variable), !value.isEmpty else {
                throw settings.origin.error("kind \(settings.kind.rawValue) needs the environment variable \(variable) (\(why))")
            }
            return value
        }
        switch settings.kind {
        case .clientSecret:
            guard let endpoint = settings.tokenEndpoint, let clientID = settings.clientID, let file = settings.clientSecretFile else {
                throw settings.origin.error("client_secret needs authority, client_id and client_secret_file")
            }
            _ = try CredentialFiles.secret(file)
            return ClientCredential(endpoint: endpoint, clientID: clientID, proof: .secret(file), caFile: ca)
        case .clientCertificate:
            guard let endpoint = settings.tokenEndpoint, let clientID = settings.clientID, let pair = settings.clientCertificate else {
                throw settings.origin.error("client_certificate needs authority, client_id and client_certificate")
            }
            _ = try CredentialFiles.certificate(pair.cert)
            _ = try CredentialFiles.rsaKey(pair.key)
            return ClientCredential(endpoint: endpoint, clientID: clientID,
                                    proof: .certificate(ClientAssertionSigner(certificate: pair.cert, key: pair.key)), caFile: ca)
        case .appServiceIdentity:
            var endpoint = settings.endpoint
            if endpoint == nil { endpoint = try required("IDENTITY_ENDPOINT", "App Service sets it when a managed identity is enabled; or set endpoint") }
            let header = try required("IDENTITY_HEADER", "App Service sets it when a managed identity is enabled")
            return AppServiceIdentityCredential(endpoint: endpoint ?? "", identityHeader: header, clientID: settings.clientID, caFile: ca)
        case .imds:
            return IMDSCredential(endpoint: settings.endpoint ?? IMDSCredential.defaultEndpoint, clientID: settings.clientID, caFile: ca)
        case .workloadIdentity:
            let why = "the workload identity webhook sets it"
            let path = try required("AZURE_FEDERATED_TOKEN_FILE", why)
            var clientID = settings.clientID
            if clientID == nil { clientID = try required("AZURE_CLIENT_ID", why + "; or set client_id") }
            var endpoint = settings.tokenEndpoint
            if endpoint == nil {
                var host = environment("AZURE_AUTHORITY_HOST") ?? "https://login.microsoftonline.com/"
                if !host.hasSuffix("/") { host += "/" }
                endpoint = host + (try required("AZURE_TENANT_ID", why + "; or set authority")) + "/oauth2/v2.0/token"
            }
            let file = LocatedValue(value: path, key: settings.origin.key + " (AZURE_FEDERATED_TOKEN_FILE)", line: settings.origin.line)
            _ = try CredentialFiles.secret(file)
            return ClientCredential(endpoint: endpoint ?? "", clientID: clientID ?? "", proof: .federatedToken(file), caFile: ca)
        }
    }
}
