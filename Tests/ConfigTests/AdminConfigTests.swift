import Testing
@testable import Config

@Suite("admin section")
struct AdminConfigTests {
    static let base = """
    listeners: [{address: "0.0.0.0:8080"}]
    upstream: {url: "http://127.0.0.1:8000"}

    """

    func failure(_ admin: String) -> ConfigError? {
        ConfigParsingTests().failure(Self.base + admin)
    }

    @Test func absentMeansNoAdminListener() throws {
        #expect(try PortcullisConfig.parse(yaml: Self.base).admin == nil)
    }

    @Test func parsesTheAddress() throws {
        let config = try PortcullisConfig.parse(yaml: Self.base + "admin: {address: 127.0.0.1:9901}\n")
        #expect(config.admin?.address == SocketAddressSettings(host: "127.0.0.1", port: 9901, isIPv6: false))
        let v6 = try PortcullisConfig.parse(yaml: Self.base + "admin:\n  address: \"[::1]:9901\"\n")
        #expect(v6.admin?.address.isIPv6 == true)
        let ephemeral = try PortcullisConfig.parse(yaml: Self.base + "admin: {address: 127.0.0.1:0}\n")
        #expect(ephemeral.admin?.address.port == 0)
    }

    @Test func errorsNameTheKey() {
        let cases: [(admin: String, key: String, reason: String)] = [
            ("admin: {address: localhost:9901}\n", "admin.address", "not a numeric address"),
            ("admin: {}\n", "admin", "'address' is missing"),
            ("admin: {adress: 127.0.0.1:9901}\n", "admin.adress", "did you mean 'address'"),
            ("admin: {address: 127.0.0.1:9901, tls: true}\n", "admin.tls", "unknown key 'tls'"),
            ("admin: 127.0.0.1:9901\n", "admin", "expected a mapping"),
        ]
        for (admin, key, reason) in cases {
            let error = failure(admin)
            #expect(error?.key == key, "\(admin)")
            #expect(error?.line == 3, "\(admin)")
            #expect(error?.reason.contains(reason) == true, "\(admin): \(String(describing: error))")
        }
    }

    @Test func theAdminListenerCannotShareATrafficListenersPort() {
        let same = failure("admin: {address: 0.0.0.0:8080}\n")
        #expect(same?.key == "admin.address")
        #expect(same?.reason.contains("overlaps the traffic listener 0.0.0.0:8080") == true)
        // 0.0.0.0:8080 already holds 127.0.0.1:8080.
        #expect(failure("admin: {address: 127.0.0.1:8080}\n")?.key == "admin.address")
        #expect(failure("admin: {address: 127.0.0.1:8081}\n") == nil)
    }
}
