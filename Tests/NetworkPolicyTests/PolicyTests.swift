import Config
import Testing
@testable import NetworkPolicy

func compile(_ yaml: String) throws -> NetworkPolicy {
    let config = try PortcullisConfig.parse(yaml: """
    listeners: [{address: "127.0.0.1:1"}]
    upstream: {url: "http://127.0.0.1:2"}
    \(yaml)
    """)
    return try NetworkPolicy(try #require(config.network))
}

func ip(_ text: String) -> IPAddress {
    guard let address = IPAddress.parse(text) else { preconditionFailure("bad test address \(text)") }
    return address
}

let noHeaders = StaticHeaders([])

@Suite("Network rules")
struct PolicyTests {
    static let example = """
    network:
      default_action: deny
      rules:
        - {name: integration-subnet, priority: 100, action: allow, cidrs: [10.1.2.0/27, "2001:db8:1::/48"]}
        - {name: known-bad, priority: 50, action: deny, cidrs: [10.1.2.7/32]}
        - name: front-door
          priority: 200
          action: allow
          cidrs: [0.0.0.0/0]
          headers: {x-azure-fdid: [55ce4ed1-4b06-4bf1-b40e-4638452104da]}
    """

    @Test func priorityDecidesNotPrefixLength() throws {
        let policy = try compile(Self.example)
        #expect(policy.decide(ip("10.1.2.9"), headers: noHeaders) == NetworkDecision(allowed: true, rule: "integration-subnet", priority: 100))
        // Deny inside allow: the /32 has the lower priority number.
        #expect(policy.decide(ip("10.1.2.7"), headers: noHeaders).rule == "known-bad")
        #expect(!policy.decide(ip("10.1.2.7"), headers: noHeaders).allowed)
        #expect(policy.decide(ip("2001:db8:1::5"), headers: noHeaders).allowed)
        #expect(policy.decide(ip("::ffff:10.1.2.9"), headers: noHeaders).rule == "integration-subnet")
    }

    @Test func defaultActionBothWays() throws {
        let deny = try compile("network: {rules: [{name: a, priority: 1, action: allow, cidrs: [10.0.0.0/8]}]}")
        #expect(deny.decide(ip("192.168.1.1"), headers: noHeaders) == NetworkDecision(allowed: false, rule: "default", priority: nil))
        let allow = try compile("network: {default_action: allow, rules: [{name: a, priority: 1, action: deny, cidrs: [10.0.0.0/8]}]}")
        #expect(allow.decide(ip("192.168.1.1"), headers: noHeaders).allowed)
        #expect(!allow.decide(ip("10.2.3.4"), headers: noHeaders).allowed)
    }

    @Test func tiesGoToTheRuleListedFirst() throws {
        let policy = try compile("""
        network:
          rules:
            - {name: first, priority: 10, action: deny, cidrs: [10.0.0.0/8]}
            - {name: second, priority: 10, action: allow, cidrs: [10.1.0.0/16]}
        """)
        #expect(policy.decide(ip("10.1.1.1"), headers: noHeaders).rule == "first")
        let swapped = try compile("""
        network:
          rules:
            - {name: second, priority: 10, action: allow, cidrs: [10.1.0.0/16]}
            - {name: first, priority: 10, action: deny, cidrs: [10.0.0.0/8]}
        """)
        #expect(swapped.decide(ip("10.1.1.1"), headers: noHeaders).rule == "second")
    }

    @Test func headerFilteredRulesNeedEveryHeader() throws {
        let policy = try compile(Self.example)
        let frontDoor = StaticHeaders([("X-Azure-FDID", "55ce4ed1-4b06-4bf1-b40e-4638452104da")])
        #expect(policy.decide(ip("8.8.8.8"), headers: frontDoor).rule == "front-door")
        #expect(policy.decide(ip("8.8.8.8"), headers: StaticHeaders([("x-azure-fdid", "someone-else")])).rule == "default")
        #expect(policy.decide(ip("8.8.8.8"), headers: noHeaders).rule == "default")
        // A matching header never lifts a higher-priority deny.
        #expect(policy.decide(ip("10.1.2.7"), headers: frontDoor).rule == "known-bad")
        let two = try compile("""
        network:
          rules:
            - {name: both, priority: 1, action: allow, cidrs: ["::/0", 0.0.0.0/0], headers: {a: ["1"], b: ["2", "3"]}}
        """)
        #expect(two.decide(ip("1.1.1.1"), headers: StaticHeaders([("a", "1"), ("b", "3")])).allowed)
        #expect(!two.decide(ip("1.1.1.1"), headers: StaticHeaders([("a", "1")])).allowed)
        #expect(two.decide(ip("2001::1"), headers: StaticHeaders([("b", "x"), ("a", "1"), ("b", "2")])).allowed)
    }

    func configError(_ yaml: String) -> ConfigError? {
        do {
            _ = try compile(yaml)
            return nil
        } catch let error as ConfigError {
            return error
        } catch {
            return nil
        }
    }

    @Test func configErrorsNameTheRule() {
        let hostBits = configError("network: {rules: [{name: r, priority: 1, action: allow, cidrs: [10.0.0.0/8, 10.1.2.3/24]}]}")
        #expect(hostBits?.key == "network.rules[0].cidrs[1]")
        #expect(hostBits?.reason == "rule 'r': host bits set in 10.1.2.3/24; did you mean 10.1.2.0/24?")
        #expect(configError("network: {rules: [{name: r, priority: 1, action: allow, cidrs: [ten/8]}]}")?.reason.contains("is not a CIDR") == true)
        #expect(configError("network: {rules: [{name: r, priority: 1, action: allow, cidrs: [10.0.0.0/40]}]}")?.reason.contains("out of range 0-32") == true)
        let duplicate = configError("network: {rules: [{name: r, priority: 1, action: allow, cidrs: [10.0.0.0/8]}, {name: r, priority: 2, action: deny, cidrs: [11.0.0.0/8]}]}")
        #expect(duplicate?.key == "network.rules[1].name")
        #expect(duplicate?.reason.contains("used twice") == true)
        let action = configError("network: {rules: [{name: r, priority: 1, action: permit, cidrs: [10.0.0.0/8]}]}")
        #expect(action?.key == "network.rules[0].action")
        #expect(action?.reason.contains("rule 'r'") == true)
        #expect(configError("network: {default_action: maybe}")?.key == "network.default_action")
        #expect(configError("network: {rules: [{name: r, priority: 1, action: allow, cidrs: []}]}")?.reason.contains("no CIDRs") == true)
        #expect(configError("network: {rules: [{name: r, priority: 1, action: allow, cidr: [10.0.0.0/8]}]}")?.reason.contains("did you mean 'cidrs'") == true)
    }

    /// A table large enough for the direct-indexed first level, where a split falls exactly on
    /// 16 bits (20.3.0.0/24 to 20.3.199.0/24 share 20.3.0.0/16): addresses on either side of
    /// the 17th bit find their prefix. A service tag's prefixes look like this.
    @Test func aSplitOnTheSixteenthBitIsWalkedFromTheSplit() throws {
        var settings = NetworkSettings()
        var cidrs: [LocatedValue] = []
        for a in 0..<4 { for b in 0..<200 { cidrs.append(LocatedValue(value: "20.\(a).\(b).0/24", key: "k", line: nil)) } }
        cidrs.append(LocatedValue(value: "2603:1000::/40", key: "k", line: nil))
        cidrs.append(LocatedValue(value: "2603:8000::/40", key: "k", line: nil))
        settings.rules = [NetworkSettings.Rule(name: "tag", priority: 1, action: .allow, cidrs: cidrs, key: "network.rules[0]")]
        let policy = try NetworkPolicy(settings)
        for address in ["20.3.7.9", "20.3.199.255", "20.0.128.1", "2603:1000:ff::1", "2603:8000:ff::1"] {
            #expect(policy.decide(ip(address), headers: noHeaders).rule == "tag", "\(address)")
        }
        for address in ["20.3.200.1", "20.4.0.1", "2603:1100::1", "2603:80ff::1"] {
            #expect(policy.decide(ip(address), headers: noHeaders).rule == "default", "\(address)")
        }
    }

    /// The trie against a plain scan over the rules, on random prefixes and addresses (seeded).
    @Test(arguments: [1, 2, 3])
    func trieAgreesWithALinearScan(seed: UInt64) throws {
        var random = SplitMix(seed: seed)
        var rules: [NetworkSettings.Rule] = []
        var prefixes: [CIDR] = []
        for index in 0..<400 {
            var cidrs: [LocatedValue] = []
            for _ in 0..<Int(random.next() % 4 + 1) {
                let cidr = random.cidr()
                prefixes.append(cidr)
                cidrs.append(LocatedValue(value: cidr.description, key: "k", line: nil))
            }
            let headers = random.next() % 8 == 0 ? [NetworkSettings.HeaderCondition(name: "x-k", values: ["v"])] : []
            rules.append(NetworkSettings.Rule(name: "r\(index)", priority: Int(random.next() % 50), action: random.next() % 2 == 0 ? .allow : .deny,
                                              cidrs: cidrs, headers: headers, key: "network.rules[\(index)]", line: nil))
        }
        var settings = NetworkSettings()
        settings.rules = rules
        let policy = try NetworkPolicy(settings)
        let withHeader = StaticHeaders([("x-k", "v")])
        for i in 0..<20_000 {
            // Half the probes land inside a known prefix, so deep paths are exercised.
            let address = i % 2 == 0 ? random.address(inside: prefixes[Int(random.next() % UInt64(prefixes.count))]) : random.address()
            let headers = i % 3 == 0 ? withHeader : noHeaders
            let fast = policy.decide(address, headers: headers)
            let slow = policy.decideByScan(address, headers: headers)
            #expect(fast == slow, "\(address): trie \(fast.rule), scan \(slow.rule)")
            if fast != slow { return }
        }
    }
}

/// A small seeded generator, so a failing property run can be replayed.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func address() -> IPAddress {
        next() % 2 == 0 ? IPAddress(v4: UInt32(truncatingIfNeeded: next())) : IPAddress(high: next(), low: next())
    }
    mutating func address(inside cidr: CIDR) -> IPAddress {
        let random = address()
        let keepHigh = cidr.length >= 64 ? UInt64.max : (cidr.length == 0 ? 0 : ~(UInt64.max >> UInt64(cidr.length)))
        let keepLow = cidr.length <= 64 ? 0 : (cidr.length >= 128 ? UInt64.max : ~(UInt64.max >> UInt64(cidr.length - 64)))
        return IPAddress(high: cidr.address.high & keepHigh | random.high & ~keepHigh,
                         low: cidr.address.low & keepLow | random.low & ~keepLow)
    }
    mutating func cidr() -> CIDR {
        if next() % 2 == 0 {
            let length = Int(next() % 33)
            return CIDR(address: IPAddress(v4: UInt32(truncatingIfNeeded: next())), length: 96 + length)
        }
        return CIDR(address: IPAddress(high: next() & 0x2001_0DB8_FFFF_FFFF | 0x2001_0000_0000_0000, low: next()), length: Int(next() % 129))
    }
}
