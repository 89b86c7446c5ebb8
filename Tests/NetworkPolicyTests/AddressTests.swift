import Testing
@testable import NetworkPolicy

@Suite("Addresses and CIDRs")
struct AddressTests {
    func parse(_ text: String) -> IPAddress? { IPAddress.parse(text) }
    func hostPort(_ text: String) -> IPAddress? {
        var text = text
        return text.withUTF8 { IPAddress.parseHostPort(UnsafeRawBufferPointer($0)) }
    }

    @Test(arguments: [
        ("10.1.2.3", "10.1.2.3"), ("0.0.0.0", "0.0.0.0"), ("255.255.255.255", "255.255.255.255"),
        ("::1", "::1"), ("::", "::"), ("2001:db8::1", "2001:db8::1"), ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"), ("fe80::", "fe80::"), ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
        ("::ffff:10.1.2.3", "10.1.2.3"), ("64:ff9b::1.2.3.4", "64:ff9b::102:304"), ("1::", "1::"),
    ])
    func validAddressesRoundTrip(_ input: String, _ expected: String) throws {
        let address = try #require(parse(input), "\(input) should parse")
        #expect(address.description == expected)
    }

    @Test(arguments: [
        "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.04", "1..2.3", "1.2.3.4.", " 1.2.3.4",
        "1:2:3:4:5:6:7:8:9", "1::2::3", ":1::2", "1:2:3:4:5:6:7:", "12345::", "fe80::1%eth0", "g::1",
        "::ffff:1.2.3", "localhost", "1.2.3.4/32", "[::1]",
    ])
    func invalidAddressesAreRefused(_ input: String) {
        #expect(parse(input) == nil, "\(input) must not parse")
    }

    @Test func ipv4MappedIsTheSameAddressAsIPv4() {
        #expect(parse("::ffff:10.1.2.3") == parse("10.1.2.3"))
        #expect(parse("::ffff:10.1.2.3")?.isIPv4 == true)
        #expect(parse("::10.1.2.3")?.isIPv4 == false)
    }

    @Test func forwardingHeaderFormsWithPortsAndBrackets() {
        #expect(hostPort("1.2.3.4:80") == parse("1.2.3.4"))
        #expect(hostPort("[::1]:443") == parse("::1"))
        #expect(hostPort("[2001:db8::1]") == parse("2001:db8::1"))
        #expect(hostPort("2001:db8::1") == parse("2001:db8::1"))
        #expect(hostPort("1.2.3.4:99999") == nil)
        #expect(hostPort("1.2.3.4:") == nil)
        #expect(hostPort("[::1]x") == nil)
        #expect(hostPort("[fe80::1%eth0]:80") == nil)
        #expect(hostPort("unknown") == nil)
        #expect(hostPort("_hidden") == nil)
    }

    @Test func cidrParsingAndErrors() throws {
        let v4 = try CIDR.parse("10.1.2.0/27").get()
        #expect(v4.contains(try #require(parse("10.1.2.31"))))
        #expect(!v4.contains(try #require(parse("10.1.2.32"))))
        #expect(v4.description == "10.1.2.0/27")
        let v6 = try CIDR.parse("2001:db8:1::/48").get()
        #expect(v6.contains(try #require(parse("2001:db8:1:ffff::1"))))
        #expect(try CIDR.parse("10.1.2.7").get().length == 128)
        #expect(CIDR.parse("10.1.2.3/24") == .failure(.hostBitsSet(suggestion: "10.1.2.0/24")))
        #expect(CIDR.parse("2001:db8::1/32") == .failure(.hostBitsSet(suggestion: "2001:db8::/32")))
        #expect(CIDR.parse("10.0.0.0/33") == .failure(.prefixOutOfRange(max: 32)))
        #expect(CIDR.parse("::/129") == .failure(.prefixOutOfRange(max: 128)))
        #expect(CIDR.parse("10.0.0.0/") == .failure(.unparsable))
        #expect(CIDR.parse("10.0.0/8") == .failure(.unparsable))
        #expect(CIDR.parse("10.0.0.0/-1") == .failure(.unparsable))
        // IPv4-mapped IPv6 rules match IPv4 clients.
        #expect(try CIDR.parse("::ffff:10.0.0.0/104").get().contains(try #require(parse("10.9.9.9"))))
    }
}
