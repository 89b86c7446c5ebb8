import Config
import Testing
@testable import NetworkPolicy

func resolver(_ yaml: String) throws -> ClientIPResolver {
    let config = try PortcullisConfig.parse(yaml: """
    listeners: [{address: "127.0.0.1:1"}]
    upstream: {url: "http://127.0.0.1:2"}
    \(yaml)
    """)
    return try ClientIPResolver(try #require(config.clientIP))
}

@Suite("Client IP resolution")
struct ClientIPTests {
    static let trusted = "client_ip: {trusted_proxies: [10.0.0.0/8, \"fd00::/8\"]}"

    func xff(_ values: String...) -> StaticHeaders {
        StaticHeaders(values.map { ("X-Forwarded-For", $0) })
    }

    @Test func anUntrustedPeersHeaderIsIgnored() throws {
        let r = try resolver(Self.trusted)
        let result = r.resolve(peer: ip("203.0.113.9"), headers: xff("10.1.2.3"))
        #expect(result == ResolvedClient(address: ip("203.0.113.9"), source: .peer))
    }

    @Test func aChainThroughTwoTrustedProxiesResolvesToTheClient() throws {
        let r = try resolver(Self.trusted)
        // client 198.51.100.7 → proxy 10.0.0.5 → proxy 10.0.0.6 (the TCP peer).
        let result = r.resolve(peer: ip("10.0.0.6"), headers: xff("198.51.100.7, 10.0.0.5"))
        #expect(result == ResolvedClient(address: ip("198.51.100.7"), source: .header(index: 0)))
        // A client-supplied prefix left of the real client is never reached.
        let spoof = r.resolve(peer: ip("10.0.0.6"), headers: xff("10.1.2.9, 198.51.100.7, 10.0.0.5"))
        #expect(spoof.address == ip("198.51.100.7"))
        #expect(spoof.source == .header(index: 1))
    }

    @Test func multipleHeadersAreOneListInOrder() throws {
        let r = try resolver(Self.trusted)
        let result = r.resolve(peer: ip("10.0.0.6"), headers: xff("1.1.1.1", "2.2.2.2, 10.9.9.9"))
        #expect(result == ResolvedClient(address: ip("2.2.2.2"), source: .header(index: 1)))
    }

    @Test func allTrustedFallsToTheLeftmostAddress() throws {
        let r = try resolver(Self.trusted)
        #expect(r.resolve(peer: ip("10.0.0.6"), headers: xff("10.0.0.1, 10.0.0.2")).address == ip("10.0.0.1"))
        #expect(r.resolve(peer: ip("10.0.0.6"), headers: noHeaders) == ResolvedClient(address: ip("10.0.0.6"), source: .peer))
    }

    @Test func aMalformedEntryStopsTheWalkAtTheLastGoodHop() throws {
        let r = try resolver(Self.trusted)
        // The garbage is right of a trusted hop: the trusted hop is the last good one seen.
        #expect(r.resolve(peer: ip("10.0.0.6"), headers: xff("1.2.3.4, garbage, 10.0.0.5")).address == ip("10.0.0.5"))
        // Garbage as the rightmost element: nothing in the header is usable, the peer stands.
        #expect(r.resolve(peer: ip("10.0.0.6"), headers: xff("1.2.3.4, not-an-ip")) == ResolvedClient(address: ip("10.0.0.6"), source: .peer))
        #expect(r.resolve(peer: ip("10.0.0.6"), headers: xff("fe80::1%eth0")).source == .peer)
    }

    @Test func portsBracketsAndMappedAddresses() throws {
        let r = try resolver(Self.trusted)
        #expect(r.resolve(peer: ip("10.0.0.6"), headers: xff("[2001:db8::7]:443")).address == ip("2001:db8::7"))
        #expect(r.resolve(peer: ip("10.0.0.6"), headers: xff("192.0.2.1:8080")).address == ip("192.0.2.1"))
        // A trusted proxy reached over IPv6 as ::ffff:10.x is still trusted.
        #expect(r.resolve(peer: ip("::ffff:10.0.0.6"), headers: xff("192.0.2.1")).address == ip("192.0.2.1"))
        #expect(r.resolve(peer: ip("fd00::1"), headers: xff("192.0.2.1")).address == ip("192.0.2.1"))
    }

    @Test func forwardedHeaderWithQuotedIPv6() throws {
        let r = try resolver("client_ip: {trusted_proxies: [10.0.0.0/8], header: forwarded}")
        let headers = StaticHeaders([("Forwarded", "for=192.0.2.60;proto=http;by=203.0.113.43"),
                                     ("Forwarded", "for=\"[2001:db8:cafe::17]:4711\", for=10.0.0.5")])
        #expect(r.resolve(peer: ip("10.0.0.6"), headers: headers) == ResolvedClient(address: ip("2001:db8:cafe::17"), source: .header(index: 1)))
        let unknown = StaticHeaders([("Forwarded", "for=unknown")])
        #expect(r.resolve(peer: ip("10.0.0.6"), headers: unknown).source == .peer)
        let obfuscated = StaticHeaders([("Forwarded", "for=192.0.2.1, for=_hidden")])
        #expect(r.resolve(peer: ip("10.0.0.6"), headers: obfuscated).source == .peer)
        // X-Forwarded-For is not read in this mode.
        #expect(r.resolve(peer: ip("10.0.0.6"), headers: xff("1.2.3.4")).source == .peer)
    }

    @Test func trustedHopsCountsFromTheRight() throws {
        let r = try resolver("client_ip: {trusted_hops: 2}")
        #expect(r.resolve(peer: ip("127.0.0.1"), headers: xff("1.1.1.1, 2.2.2.2, 3.3.3.3")).address == ip("2.2.2.2"))
        #expect(r.resolve(peer: ip("127.0.0.1"), headers: xff("3.3.3.3")).address == ip("3.3.3.3"))
        let gated = try resolver("client_ip: {trusted_hops: 1, trusted_proxies: [10.0.0.0/8]}")
        #expect(gated.resolve(peer: ip("8.8.8.8"), headers: xff("1.1.1.1")).source == .peer)
        #expect(gated.resolve(peer: ip("10.0.0.1"), headers: xff("1.1.1.1")).address == ip("1.1.1.1"))
    }

    @Test func configErrors() {
        func failure(_ yaml: String) -> ConfigError? {
            do { _ = try resolver(yaml); return nil } catch let error as ConfigError { return error } catch { return nil }
        }
        #expect(failure("client_ip: {trusted_proxies: [10.0.0.1/8]}")?.reason.contains("did you mean 10.0.0.0/8") == true)
        #expect(failure("client_ip: {trusted_proxies: [10.0.0.1/8]}")?.key == "client_ip.trusted_proxies[0]")
        #expect(failure("client_ip: {trusted_proxies: [nope]}")?.reason.contains("not an address") == true)
        #expect(failure("client_ip: {header: x-real-ip, trusted_proxies: [10.0.0.0/8]}")?.key == "client_ip.header")
        #expect(failure("client_ip: {header: forwarded}")?.reason.contains("trusted_proxies") == true)
    }
}

@Suite("PROXY protocol")
struct ProxyProtocolTests {
    func parse(_ bytes: [UInt8]) -> ProxyProtocol.Result {
        bytes.withUnsafeBytes { ProxyProtocol.parse($0) }
    }

    @Test func v1() {
        let line = Array("PROXY TCP4 192.0.2.1 10.0.0.1 56324 443\r\nGET / HTTP/1.1\r\n".utf8)
        #expect(parse(line) == .done(consumed: 41, source: ip("192.0.2.1")))
        #expect(parse(Array("PROXY TCP6 2001:db8::1 ::1 1 2\r\n".utf8)) == .done(consumed: 32, source: ip("2001:db8::1")))
        #expect(parse(Array("PROXY UNKNOWN\r\n".utf8)) == .done(consumed: 15, source: nil))
        #expect(parse(Array("PROXY TCP4 192.0.2.1 10.0".utf8)) == .needMoreBytes)
        #expect(parse(Array("PRO".utf8)) == .needMoreBytes)
    }

    @Test func v1Hostile() {
        for bad in ["GET / HTTP/1.1\r\n", "PROXY TCP4 192.0.2.1 10.0.0.1 56324\r\n", "PROXY TCP4 ::1 10.0.0.1 1 2\r\n",
                    "PROXY TCP4 192.0.2.1 10.0.0.1 1 99999\r\n", "PROXY TCP4 192.0.2.1  10.0.0.1 1 2\r\n",
                    "PROXY TCP4 192.0.2.1 10.0.0.1 1 2\n", "PROXY " + String(repeating: "A", count: 120)] {
            guard case .invalid = parse(Array(bad.utf8)) else {
                Issue.record("accepted \(bad.debugDescription)")
                continue
            }
        }
    }

    static func v2(command: UInt8, family: UInt8, addresses: [UInt8], tlv: [UInt8] = []) -> [UInt8] {
        let body = addresses + tlv
        return ProxyProtocol.v2Signature + [0x20 | command, family, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
    }

    @Test func v2() {
        let v4 = Self.v2(command: 1, family: 0x11, addresses: [192, 0, 2, 1, 10, 0, 0, 1, 0xDC, 0x04, 0x01, 0xBB], tlv: [0x04, 0x00, 0x01, 0x00])
        #expect(parse(v4 + Array("GET".utf8)) == .done(consumed: v4.count, source: ip("192.0.2.1")))
        let v6 = Self.v2(command: 1, family: 0x21, addresses: [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [7] + Array(repeating: 0, count: 15) + [1, 0, 1, 0, 2])
        #expect(parse(v6) == .done(consumed: v6.count, source: ip("2001:db8::7")))
        let local = Self.v2(command: 0, family: 0x00, addresses: [])
        #expect(parse(local) == .done(consumed: 16, source: nil))
        #expect(parse(Array(v4.prefix(20))) == .needMoreBytes)
    }

    @Test func v2Hostile() {
        var badVersion = Self.v2(command: 1, family: 0x11, addresses: Array(repeating: 1, count: 12))
        badVersion[12] = 0x11
        #expect(parse(badVersion) == .invalid("unsupported PROXY protocol version"))
        #expect(parse(Self.v2(command: 2, family: 0x11, addresses: Array(repeating: 1, count: 12))) == .invalid("unknown PROXY v2 command"))
        #expect(parse(Self.v2(command: 1, family: 0x11, addresses: [1, 2, 3])) == .invalid("PROXY v2 address block too short"))
        #expect(parse(Self.v2(command: 1, family: 0x12, addresses: Array(repeating: 1, count: 12))) == .invalid("unsupported PROXY v2 address family or transport"))
        var badSignature = Self.v2(command: 1, family: 0x11, addresses: Array(repeating: 1, count: 12))
        badSignature[5] = 0xFF
        #expect(parse(badSignature) == .invalid("not a PROXY protocol header"))
    }
}
