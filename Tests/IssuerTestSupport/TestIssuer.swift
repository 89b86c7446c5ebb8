import Config
public import DevIssuer
import Foundation

/// A running dev issuer on an ephemeral loopback port with the tests' tenant: service A (a
/// secret, a certificate, the managed identity), service X (a secret, no role anywhere), and
/// two applications: service B (v2 tokens, assignment required, A holds Reader) and service C
/// (v1 tokens, no assignment required).
public enum TestIssuer {
    public static let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    public static let serviceA = "aaaaaaaa-0000-4000-8000-00000000000a"
    public static let serviceX = "cccccccc-0000-4000-8000-00000000000c"
    public static let serviceB = "bbbbbbbb-0000-4000-8000-00000000000b"
    public static let serviceC = "dddddddd-0000-4000-8000-00000000000d"
    public static let secretA = "a-secret-with+and=and/"
    public static let secretX = "x-secret"
    public static let identityHeader = "identity-header-secret"

    /// The settings file's text; `extra` adds top-level keys (`tls: {...}`).
    public static func yaml(lifetime: String = "1h", extra: String = "") throws -> String {
        let files = TestFiles.shared
        let header = try files.write("identity-header-\(UUID().uuidString)", identityHeader + "\n")
        return """
        listen: 127.0.0.1:0
        tenant_id: \(tenant)
        token_lifetime: \(lifetime)
        managed_identity: {client: service-a, header_secret_file: \(header)}
        \(extra)
        clients:
          - {name: service-a, client_id: \(serviceA), client_secret: "\(secretA)", certificate: \(files.clientCert)}
          - {name: service-x, client_id: \(serviceX), client_secret: \(secretX)}
        applications:
          - name: service-b
            client_id: \(serviceB)
            identifier_uris: ["api://service-b"]
            access_token_version: 2
            assignment_required: true
            app_roles: [Reader, Writer]
          - name: service-c
            client_id: \(serviceC)
            identifier_uris: ["api://service-c"]
            access_token_version: 1
            app_roles: [Reader]
        role_assignments:
          - {client: service-a, application: service-b, roles: [Reader]}
        """
    }

    /// A started issuer; the caller stops it.
    public static func start(lifetime: String = "1h", extra: String = "") throws -> DevIssuer {
        let issuer = try DevIssuer(settings: try DevIssuerSettings.parse(yaml: try yaml(lifetime: lifetime, extra: extra)))
        try issuer.start()
        return issuer
    }
}
