import Config
import Testing

/// Settings that would quietly undo the lockdown are refused, with the reason.
@Suite("Foot-guns refused")
struct FootGunTests {
    static func parse(_ clientIP: String) throws -> PortcullisConfig {
        try PortcullisConfig.parse(yaml: """
        listeners: [{address: "127.0.0.1:8080"}]
        upstream: {url: "http://127.0.0.1:8000"}
        client_ip: \(clientIP)
        """)
    }

    @Test(arguments: ["0.0.0.0/0", "::/0"])
    func trustingEveryPeersForwardingHeaderIsAnError(_ cidr: String) throws {
        do {
            _ = try Self.parse("{trusted_proxies: [10.0.0.0/8, \"\(cidr)\"]}")
            Issue.record("\(cidr) was accepted")
        } catch let error as ConfigError {
            #expect(error.key == "client_ip.trusted_proxies[1]")
            #expect(error.reason.contains("any client could choose its own address"))
            #expect(error.reason.contains("allow_any_trusted_proxy"))
        }
        let allowed = try Self.parse("{trusted_proxies: [\"\(cidr)\"], allow_any_trusted_proxy: true}")
        #expect(allowed.clientIP?.allowAnyTrustedProxy == true)
    }
}
