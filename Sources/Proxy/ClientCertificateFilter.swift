import Config
import Transport

/// Pipeline step after the network rules: on listeners that ask for client certificates, the
/// request needs a verified certificate carrying one of the allowed identities (403 otherwise).
/// Requests on other listeners pass: their clients were never asked for a certificate.
final class ClientCertificateFilter: RequestFilter {
    let name = "client_certificate"
    private let uris: Set<String>
    private let dnsNames: Set<String>
    private let commonNames: Set<String>
    private let anyVerified: Bool

    init(_ settings: ClientCertificateSettings) {
        var uris = Set<String>(), dns = Set<String>(), cns = Set<String>()
        for identity in settings.allowed {
            switch identity {
            case .uri(let v): uris.insert(v)
            case .dns(let v): dns.insert(v)
            case .cn(let v): cns.insert(v)
            }
        }
        self.uris = uris
        self.dnsNames = dns
        self.commonNames = cns
        anyVerified = settings.allowed.isEmpty
    }

    static let missing = Decision(status: 403, code: "client_certificate", message: "forbidden: a client certificate is required")
    static let notAllowed = Decision(status: 403, code: "client_certificate", message: "forbidden: this client certificate may not call this service")

    func evaluate(_ request: inout RequestContext) -> FilterResult {
        guard request.requestsClientCertificates else { return .continue }
        guard let peer = request.tlsPeer else { return .stop(Self.missing) }
        return allows(peer) ? .continue : .stop(Self.notAllowed)
    }

    func allows(_ peer: PeerCertificate) -> Bool {
        if anyVerified { return true }
        if peer.uris.contains(where: uris.contains) { return true }
        if peer.dnsNames.contains(where: dnsNames.contains) { return true }
        if let cn = peer.commonName, commonNames.contains(cn) { return true }
        return false
    }
}
