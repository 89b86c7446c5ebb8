import Testing
@testable import Config

@Suite("admin section")
struct AdminConfigTests {
    static let base = """
    listeners: [{address: "0.0.0.0:8080"}]
    upstream: {url: "http://127.0.0.1:8000"}

    """

    func failure(_ admin: String) -> ConfigError? {
        do {
            _ = try PortcullisConfig.parse(yaml: Self.base + admin)
            return nil
        } catch {
            return error
        }
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
        let bad = failure("admin: {address: localhost:9901}\n")
        #expect(bad?.key == "admin.address")
        #expect(bad?.line == 3)
        #expect(bad?.reason.contains("not a numeric address") == true)

        let missing = failure("admin: {}\n")
        #expect(missing?.key == "admin")
        #expect(missing?.reason.contains("'address' is missing") == true)

        let typo = failure("admin: {adress: 127.0.0.1:9901}\n")
        #expect(typo?.key == "admin.adress")
        #expect(typo?.reason.contains("did you mean 'address'") == true)

        let unknown = failure("admin: {address: 127.0.0.1:9901, tls: true}\n")
        #expect(unknown?.key == "admin.tls")
        #expect(unknown?.reason.contains("unknown key 'tls'") == true)

        let scalar = failure("admin: 127.0.0.1:9901\n")
        #expect(scalar?.key == "admin")
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
