import Config
import Testing
@testable import NetworkPolicy

/// The single-pass resolver against the two-pass one it replaced (ReferenceResolver.swift), on
/// seeded random forwarding headers: one to three fields, up to 40 elements (past the 16 the
/// walk can reach), bare and ported IPv4 and IPv6, near-misses of IPv4, quotes hiding commas,
/// empty elements and stray whitespace, for both header kinds and both trust settings.
@Suite("Client IP resolution: same answers as the two-pass resolver")
struct ResolverDifferentialTests {
    static let addresses = ["10.0.0.5", "10.1.2.3", "198.51.100.7", "192.0.2.1", "0.0.0.0", "255.255.255.255",
                            "10.0.0.6:8080", "192.0.2.1:65535", "192.0.2.1:65536", "[2001:db8::7]:443", "[fd00::1]",
                            "2001:db8::7", "fd00::2", "::ffff:10.0.0.9", "::1", "fe80::1%eth0"]
    static let nearMisses = ["010.0.0.5", "10.0.0.256", "10.0.0", "10.0.0.5.", ".10.0.0.5", "10..0.5", "10.0.0.5 1",
                             "1000.0.0.1", "10.0.0.5x", "10.0.0.5:", "10.0.0.5:x", "1.2.3.4.5", "unknown", "_hidden",
                             "\"10.0.0.5\"", "\"a,b\"", "", " ", "\t", "[10.0.0.5]", "10.0.0.5\t9"]

    static func element(_ random: inout SplitMix, forwarded: Bool) -> String {
        let pool = random.below(3) == 0 ? nearMisses : addresses
        let address = pool[random.below(pool.count)]
        let padded = [" ", "", "\t", "  "][random.below(4)] + address + ["", " ", "\t"][random.below(3)]
        guard forwarded else { return padded }
        switch random.below(4) {
        case 0: return "for=\(address)"
        case 1: return "for=\"\(address)\";proto=https"
        case 2: return "proto=http;by=10.0.0.1;For=\(address)"
        default: return padded
        }
    }

    static func headers(_ random: inout SplitMix, forwarded: Bool) -> StaticHeaders {
        let name = forwarded ? ["Forwarded", "forwarded"] : ["X-Forwarded-For", "x-forwarded-for", "X-FORWARDED-FOR"]
        var fields: [(name: String, value: String)] = []
        for _ in 0..<(1 + random.below(3)) {
            let count = random.below(8) == 0 ? 17 + random.below(24) : random.below(6)
            let value = (0..<count).map { _ in element(&random, forwarded: forwarded) }.joined(separator: ",")
            fields.append((name[random.below(name.count)], value))
            if random.below(4) == 0 { fields.append(("X-Other", "1.2.3.4")) }
        }
        return StaticHeaders(fields)
    }

    static let peers = ["10.0.0.6", "203.0.113.9", "fd00::1", "::ffff:10.0.0.6"]

    @Test(arguments: [
        ("client_ip: {trusted_proxies: [10.0.0.0/8, \"fd00::/8\"]}", true),
        ("client_ip: {trusted_proxies: [10.0.0.0/8], header: forwarded}", true),
        ("client_ip: {trusted_hops: 2}", false),
        ("client_ip: {trusted_hops: 1, header: forwarded}", false),
        ("client_ip: {trusted_proxies: [10.0.0.0/8], trusted_hops: 3}", true),
    ])
    func randomHeadersResolveToTheSameClient(_ yaml: String, _ hasTrusted: Bool) throws {
        let resolver = try resolver(yaml)
        let reference = ReferenceResolver(resolver: resolver, hasTrusted: hasTrusted)
        var random = SplitMix(seed: UInt64(yaml.utf8.count))
        var mismatches: [String] = []
        var fromHeader = 0
        for _ in 0..<4_000 {
            let headers = Self.headers(&random, forwarded: resolver.header == .forwarded)
            let peer = ip(Self.peers[random.below(Self.peers.count)])
            let got = resolver.resolve(peer: peer, headers: headers)
            let expected = reference.resolve(peer: peer, headers: headers)
            if got != expected, mismatches.count < 5 { mismatches.append("\(headers.fields) from \(peer): \(got) vs \(expected)") }
            if case .header = expected.source { fromHeader += 1 }
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
        // Both outcomes must be common, or the comparison proves little.
        #expect(fromHeader > 800 && fromHeader < 3_200, "\(fromHeader) of 4000 from the header")
    }

    @Test func ipv4TextParsesAsBefore() {
        var random = SplitMix(seed: 0x1F4)
        let alphabet = Array("0123456789.....:[] x".utf8)
        var mismatches: [String] = []
        for _ in 0..<100_000 {
            let text = (0..<(1 + random.below(18))).map { _ in alphabet[random.below(alphabet.count)] }
            text.withUnsafeBytes { raw in
                let got = IPAddress.parseHostPort(raw), expected = ReferenceAddress.parseHostPort(raw)
                let gotV4 = IPAddress.parseV4(raw, 0, raw.count), expectedV4 = ReferenceAddress.parseV4(raw, 0, raw.count)
                if got != expected || gotV4 != expectedV4, mismatches.count < 5 {
                    mismatches.append("\(String(decoding: text, as: UTF8.self)): \(String(describing: got)) vs \(String(describing: expected))")
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }
}

extension SplitMix {
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
