import DevIssuer
import Foundation
import IssuerTestSupport
import Testing
import TestSupport
import Tokens

/// Microsoft's own clients, as apps use them, against the dev issuer over https: MSAL Python and
/// azure-identity from PyPI (installed by scripts/setup.sh), unmodified, with instance discovery
/// off and the test CA trusted. Whatever token a client gets, Portcullis' own validator must
/// accept, with the issuer, audience and roles that service B's (v2.0 tokens, a role) or
/// service C's (v1.0 tokens) ingress sidecar requires.
@Suite("Dev issuer with MSAL Python and azure-identity", .serialized)
struct MicrosoftClientTests {
    /// Fixtures/ms_clients.py beside this file.
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/ms_clients.py").path

    /// Why the clients cannot run here, or nil when they can. CI's setup installs both packages,
    /// so there this is nil and the test runs.
    static let skipReason: String? = {
        guard let run = try? ProgramRun(["python3", "-c", "import msal, azure.identity"], timeout: 60), run.status == 0 else {
            return "python3 lacks msal or azure-identity: the real-client test did not run (scripts/setup.sh installs them)"
        }
        return nil
    }()

    /// Each client the fixture runs, and how it proves itself (`azpacr`, or v1.0's `appidacr`: 1 a
    /// secret, 2 a certificate or a managed identity).
    static let clients: [(name: String, proof: String)] = [
        ("msal_secret", "1"), ("msal_certificate", "2"), ("msal_certificate_sha1", "2"),
        ("azure_client_secret", "1"), ("azure_certificate", "2"), ("azure_certificate_chain", "2"),
        ("azure_managed_identity", "2"), ("azure_managed_identity_client_id", "2"), ("azure_default", "2"),
    ]

    /// What the fixture printed: the library versions, a token per client, a reason per failure.
    struct Report {
        let versions: [String: String]
        let tokens: [String: String]
        let errors: [String: String]
    }

    /// Runs every client against `issuer` for `scope`, bounded.
    static func runClients(_ issuer: DevIssuer, scope: String) throws -> Report {
        let files = TestFiles.shared
        let run = try ProgramRun([
            "python3", script, "--base", issuer.baseURL, "--tenant", TestIssuer.tenant, "--client-id", TestIssuer.serviceA,
            "--secret", TestIssuer.secretA, "--cert", files.clientCert, "--key", files.clientKey, "--ca", files.tlsCert,
            "--identity-header", TestIssuer.identityHeader, "--scope", scope,
        ], separateErrors: true, timeout: 120)
        guard let line = run.output.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let root = JSONValue.parse(Array(line.utf8)) else {
            throw CheckError("ms_clients.py exited \(run.status) without a report:\n\(run.output)\n\(run.errors)")
        }
        func strings(_ key: String) -> [String: String] {
            guard case .object(let entries)? = root[key] else { return [:] }
            return Dictionary(entries.compactMap { name, value in value.string.map { (name, $0) } }) { first, _ in first }
        }
        return Report(versions: strings("versions"), tokens: strings("tokens"), errors: strings("errors"))
    }

    /// What service B's or service C's sidecar requires of a token, and where the proof shows.
    struct Resource: Sendable, CustomTestStringConvertible {
        let scope: String
        /// v2.0 tokens: the v2 issuer, the application's client id as `aud`, `azpacr`; v1.0:
        /// sts.windows.net, the identifier URI as `aud`, `appidacr`.
        let v2: Bool
        let audience: String
        let roles: [String]
        var testDescription: String { "\(scope) (v\(v2 ? 2 : 1).0 tokens)" }

        /// Assignment required, A holds Reader.
        static let serviceB = Resource(scope: "api://service-b/.default", v2: true, audience: TestIssuer.serviceB, roles: ["Reader"])
        /// No assignment, no role.
        static let serviceC = Resource(scope: "api://service-c/.default", v2: false, audience: "api://service-c", roles: [])
    }

    @Test(.disabled(if: skipReason != nil, Comment(rawValue: skipReason ?? "")), arguments: [Resource.serviceB, .serviceC])
    func everyClientGetsATokenThatPortcullisAccepts(_ resource: Resource) throws {
        let files = TestFiles.shared
        let issuer = try TestIssuer.start(extra: "tls: {cert: \(files.tlsCert), key: \(files.tlsKey)}")
        defer { issuer.stop() }
        let report = try Self.runClients(issuer, scope: resource.scope)
        print("ms_clients.py with msal \(report.versions["msal"] ?? "?"), azure-identity \(report.versions["azure-identity"] ?? "?")")
        #expect(report.errors.isEmpty, "\(report.errors)")
        // Validated as `serve` validates: keys through discovery over https, the CA trusted.
        let check = try IngressCheck(issuer: resource.v2 ? issuer.v2Issuer : issuer.v1Issuer, discovery: issuer.discoveryURL(v2: resource.v2),
                                     audience: resource.audience, requiredRoles: resource.roles, ca: files.tlsCert)
        for (name, proof) in Self.clients {
            let token = try #require(report.tokens[name], "\(name) got no token: \(report.errors[name] ?? "not run")")
            let identity = try check.validate(token).get().identity
            #expect(identity.applicationID == TestIssuer.serviceA, "\(name)")
            #expect(identity.roles == resource.roles, "\(name)")
            #expect(try claims(token)[resource.v2 ? "azpacr" : "appidacr"]?.string == proof, "\(name)")
        }
    }
}
