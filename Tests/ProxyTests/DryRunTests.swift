import Config
import Foundation
import Proxy
import TestSupport
import Testing
import Tokens

/// `network.mode` and `auth.mode: dry_run`: refusals are computed, logged and counted, and the
/// request goes on — without any identity when the token failed.
@Suite("Dry-run", .serialized)
struct DryRunTests {
    @Test func bothLayersInDryRunLetTrafficThroughAndCountWhatTheyWouldHaveRefused() throws {
        let signer = try AuthTests.key()
        let jwks = NSTemporaryDirectory() + "portcullis-dry-\(UUID().uuidString).json"
        try JSONValue.object([("keys", .array([signer.publicJWK(kid: "k1")]))]).serialized.write(toFile: jwks, atomically: true, encoding: .utf8)
        let harness = try Harness(extraYAML: """
        admin: {address: "127.0.0.1:0"}
        network: {mode: dry_run, default_action: deny, rules: [{name: nobody, priority: 1, action: allow, cidrs: [192.0.2.0/24]}]}
        auth:
          mode: dry_run
          issuers: [{issuer: "\(AuthTests.issuer)", jwks_file: \(jwks), audiences: [api://service-b], algorithms: [ES256]}]
          authorization: {required_roles: [Data.Read]}
        """)
        let exp = Int(Date().timeIntervalSince1970) + 3600
        let noRole = try signer.mint(claims: "{\"iss\":\"\(AuthTests.issuer)\",\"aud\":\"api://service-b\",\"exp\":\(exp)}", kid: "k1")
        #expect(try harness.exchange("GET /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").status == 200)
        #expect(try harness.exchange("GET /b HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(noRole)\r\nConnection: close\r\n\r\n").status == 200)
        #expect(try harness.exchange("GET /c HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer a.b.c\r\nX-MS-CLIENT-PRINCIPAL-NAME: forged\r\nConnection: close\r\n\r\n").status == 200)
        // Nothing vouches for these callers: the backend is told of no identity at all.
        #expect(!harness.received.lowercased().contains("x-ms-client-principal"), "\(harness.received)")
        #expect(harness.received.contains("GET /c HTTP/1.1"))
        // Malformed input is not a rule: still refused.
        #expect(try harness.exchange("GET /d HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer x\r\nAuthorization: Bearer y\r\nConnection: close\r\n\r\n").status == 400)

        let samples = try PrometheusText.parse(harness.server.renderMetrics())
        func wouldDeny(_ reason: String) -> Double? {
            samples.first { $0.name == "portcullis_would_deny_total" && $0.labels == ["reason": reason] }?.value
        }
        // The network layer would have refused all four first (its reason is the one kept),
        // the malformed one included: it got its 400 from the token layer after.
        #expect(wouldDeny("network_denied") == 4)
        let allowed = samples.first { $0.name == "portcullis_requests_total" && $0.labels["decision"] == "allowed" && $0.labels["reason"] == "allowed" }
        #expect(allowed?.value == 3)
    }

    @Test func dryRunOnlyTheTokenLayerKeepsTheNetworkEnforced() throws {
        let harness = try Harness(extraYAML: """
        network: {default_action: deny, rules: [{name: nobody, priority: 1, action: allow, cidrs: [192.0.2.0/24]}]}
        auth:
          mode: dry_run
          issuers: [{issuer: "\(AuthTests.issuer)", jwks_url: "http://127.0.0.1:1/keys", audiences: [api://service-b]}]
        """)
        #expect(try harness.exchange("GET /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").status == 403)
        #expect(harness.receivedCount == 0)
    }
}
