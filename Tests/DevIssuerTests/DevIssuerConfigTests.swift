import Config
import DevIssuer
import IssuerTestSupport
import Testing

/// The dev issuer's file: the issue's example reads as written, and each mistake is named by
/// its key.
@Suite("Dev issuer configuration")
struct DevIssuerConfigTests {
    @Test func theIssuesExampleReads() throws {
        let settings = try DevIssuerSettings.parse(yaml: """
        listen: 127.0.0.1:9400
        tenant_id: 72f988bf-86f1-41af-91ab-2d7cd011db47
        clients:
          - {name: service-a, client_id: 11111111-1111-1111-1111-111111111111, client_secret: s3cret}
        applications:
          - name: service-b
            client_id: 22222222-2222-2222-2222-222222222222
            identifier_uris: ["api://service-b"]
            access_token_version: 2
            assignment_required: true
            app_roles: [Reader, Writer]
        role_assignments:
          - {client: 11111111-1111-1111-1111-111111111111, application: 22222222-2222-2222-2222-222222222222, roles: [Reader]}
        """)
        #expect(settings.listen.port == 9400)
        #expect(settings.tokenLifetime == .seconds(3600))
        #expect(settings.applications.first?.accessTokenVersion == 2)
        #expect(settings.roleAssignments == [.init(client: "11111111-1111-1111-1111-111111111111",
                                                   application: "22222222-2222-2222-2222-222222222222", roles: ["Reader"])])
        #expect(!settings.listensBeyondLoopback)
    }

    @Test(arguments: [
        ("listen: 127.0.0.1:1\n", "", "the required key 'tenant_id' is missing"),
        ("listen: nowhere\ntenant_id: t\n", "listen", "not a numeric address"),
        ("listen: 0.0.0.0:1\ntenant_id: t\n", "listen", "set base_url"),
        ("listen: 127.0.0.1:1\ntenant_id: t\ntoken_lifetim: 1h\n", "token_lifetim", "did you mean 'token_lifetime'"),
        ("listen: 127.0.0.1:1\ntenant_id: t\ntoken_lifetime: 0\n", "token_lifetime", "from 1s to 24h"),
        ("listen: 127.0.0.1:1\ntenant_id: t\nbase_url: https://x\n", "base_url", "https needs tls"),
        ("listen: 127.0.0.1:1\ntenant_id: t\nclients: [{name: a, client_id: x}]\n", "clients[0]", "has no credential"),
        ("listen: 127.0.0.1:1\ntenant_id: t\nclients: [{name: a, client_id: x, client_secret: s}, {name: b, client_id: X, client_secret: s}]\n",
         "clients", "client_id 'X' appears twice"),
        ("listen: 127.0.0.1:1\ntenant_id: t\napplications: [{name: b, client_id: y, identifier_uris: [api://b/.default]}]\n",
         "applications[0].identifier_uris[0]", "not an application ID URI"),
        ("listen: 127.0.0.1:1\ntenant_id: t\napplications: [{name: b, client_id: y, access_token_version: 3}]\n",
         "applications[0].access_token_version", "out of range"),
        ("listen: 127.0.0.1:1\ntenant_id: t\nclients: [{name: a, client_id: x, client_secret: s}]\napplications: [{name: b, client_id: y, app_roles: [R]}]\nrole_assignments: [{client: a, application: b, roles: [W]}]\n",
         "role_assignments[0].roles", "'W' is not one of b's app_roles"),
        ("listen: 127.0.0.1:1\ntenant_id: t\nrole_assignments: [{client: a, application: b, roles: [W]}]\n",
         "role_assignments[0].client", "no client has this name"),
        ("listen: 127.0.0.1:1\ntenant_id: t\nmanaged_identity: {client: nobody, header_secret_file: f}\n",
         "managed_identity.client", "no client has this name"),
    ])
    func mistakesAreNamedByKey(yaml: String, key: String, reason: String) {
        #expect {
            _ = try DevIssuerSettings.parse(yaml: yaml)
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.key == key && error.reason.contains(reason)
        }
    }

    @Test func onlyLoopbackAddressesNeedNoAllowRemote() throws {
        func beyond(_ listen: String) throws -> Bool {
            try DevIssuerSettings.parse(yaml: "listen: \(listen)\ntenant_id: t\nbase_url: http://x:1\n").listensBeyondLoopback
        }
        #expect(try !beyond("127.0.0.1:9400"))
        #expect(try !beyond("127.0.0.2:9400"))
        #expect(try !beyond("\"[::1]:9400\""))
        #expect(try beyond("0.0.0.0:9400"))
        #expect(try beyond("\"[::]:9400\""))
        #expect(try beyond("10.1.2.3:9400"))
    }

    @Test func aMissingCertificateFileIsAnErrorNamingItsKey() throws {
        let yaml = "listen: 127.0.0.1:0\ntenant_id: t\nclients: [{name: a, client_id: x, certificate: /nonexistent/a.crt}]\n"
        #expect {
            _ = try DevIssuer(settings: try DevIssuerSettings.parse(yaml: yaml))
        } throws: { error in
            guard let failure = error as? DevIssuer.Failure else { return false }
            return failure.code == "config" && failure.reason.contains("clients[0].certificate") && failure.reason.contains("/nonexistent/a.crt")
        }
    }
}
