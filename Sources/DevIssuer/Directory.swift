import Config
import Tokens

/// The tenant as the dev issuer holds it: the configured clients, applications and role
/// assignments, with every file they name read once at start (a client's certificate, the
/// managed identity's header secret), so a bad file is a config error naming its key before
/// anything is served.
final class Directory: Sendable {
    struct RegisteredClient: Sendable {
        let settings: DevIssuerSettings.Client
        let certificate: X509Certificate?
        let certificateKey: VerificationKey?
        /// `oid` and `sub` of the client's tokens.
        let objectID: String
    }

    /// What a scope or resource named: the application, and the identifier as the token's v1
    /// `aud` carries it (the matching identifier URI, or the client id).
    struct Resource: Sendable {
        let application: DevIssuerSettings.Application
        let identifier: String
    }

    let settings: DevIssuerSettings
    let clients: [RegisteredClient]
    /// The `X-IDENTITY-HEADER` value the managed-identity endpoint wants.
    let identityHeader: String?

    init(_ settings: DevIssuerSettings) throws(ConfigError) {
        self.settings = settings
        var clients: [RegisteredClient] = []
        for client in settings.clients {
            var certificate: X509Certificate?
            var key: VerificationKey?
            if let path = client.certificate {
                let loaded = try X509Certificate.load(path)
                do {
                    key = try loaded.publicKey()
                } catch {
                    throw path.error("'\(path.value)': \(error)")
                }
                certificate = loaded
            }
            let objectID = client.objectID ?? Identifiers.derived(from: "oid \(settings.tenantID) \(client.clientID)")
            clients.append(RegisteredClient(settings: client, certificate: certificate, certificateKey: key, objectID: objectID))
        }
        self.clients = clients
        if let file = settings.managedIdentity?.headerSecretFile {
            identityHeader = String(decoding: try file.readSecret(), as: UTF8.self)
        } else {
            identityHeader = nil
        }
    }

    func client(id: String) -> RegisteredClient? {
        clients.first { $0.settings.clientID.lowercased() == id.lowercased() }
    }

    /// The application a resource identifier names: an identifier URI or the client id (both
    /// compared without regard to case, as Entra does).
    func resource(_ identifier: String) -> Resource? {
        let wanted = identifier.lowercased()
        for application in settings.applications {
            if let uri = application.identifierURIs.first(where: { $0.lowercased() == wanted }) {
                return Resource(application: application, identifier: uri)
            }
            if application.clientID.lowercased() == wanted {
                return Resource(application: application, identifier: application.clientID)
            }
        }
        return nil
    }

    /// The client's roles on the application, and whether it has any assignment at all.
    func roles(of client: String, on application: String) -> (assigned: Bool, roles: [String]) {
        var roles: [String] = []
        var assigned = false
        for assignment in settings.roleAssignments where assignment.client == client && assignment.application == application {
            assigned = true
            for role in assignment.roles where !roles.contains(role) { roles.append(role) }
        }
        return (assigned, roles)
    }
}
