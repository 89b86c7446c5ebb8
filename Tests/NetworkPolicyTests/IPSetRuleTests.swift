import Config
import Testing
@testable import NetworkPolicy

/// Rules that name IP sets: a loaded set is prefixes like any other; a set that has not loaded
/// fails closed.
@Suite("Network rules with IP sets")
struct IPSetRuleTests {
    static func settings(_ rules: String, defaultAction: String = "deny") throws -> NetworkSettings {
        let config = try PortcullisConfig.parse(yaml: """
        listeners: [{address: "127.0.0.1:1"}]
        upstream: {url: "http://127.0.0.1:2"}
        ip_sets:
          front-door: {url: "https://x/tags.json", format: azure_service_tags, tag: AzureFrontDoor.Backend}
          blocked: {file: blocked.txt, format: cidr_list}
        network:
          default_action: \(defaultAction)
          rules:
        \(rules)
        """)
        return try #require(config.network)
    }

    static let rules = """
        - {name: blocked, priority: 10, action: deny, ip_sets: [blocked]}
        - {name: front-door, priority: 20, action: allow, cidrs: [10.9.0.0/16], ip_sets: [front-door], headers: {x-azure-fdid: [fd-1]}}
        - {name: office, priority: 30, action: allow, cidrs: [10.1.0.0/16]}
    """

    static let frontDoor = ["192.0.2.0/28", "2001:db8:f0::/48"].compactMap { try? CIDR.parse($0).get() }
    static let blocked = ["192.0.2.8/29"].compactMap { try? CIDR.parse($0).get() }
    static let fdid = StaticHeaders([(name: "x-azure-fdid", value: "fd-1")])

    /// Both ways of deciding (the trie, and the scan `check` explains with) agree.
    func decide(_ policy: NetworkPolicy, _ address: String, _ headers: StaticHeaders = noHeaders) -> NetworkDecision {
        let decision = policy.decide(ip(address), headers: headers)
        #expect(decision == policy.decideByScan(ip(address), headers: headers), "\(address)")
        return decision
    }

    @Test func loadedSetsAreMatchedLikeCIDRs() throws {
        let policy = try NetworkPolicy(try Self.settings(Self.rules), sets: ["front-door": Self.frontDoor, "blocked": Self.blocked])
        #expect(decide(policy, "192.0.2.3", Self.fdid) == NetworkDecision(allowed: true, rule: "front-door", priority: 20))
        #expect(decide(policy, "2001:db8:f0::7", Self.fdid).rule == "front-door")
        #expect(decide(policy, "192.0.2.3").rule == "default")
        // The deny set wins inside the allow set; the rule's own cidrs still count.
        #expect(decide(policy, "192.0.2.9", Self.fdid) == NetworkDecision(allowed: false, rule: "blocked", priority: 10))
        #expect(decide(policy, "10.9.1.1", Self.fdid).rule == "front-door")
        #expect(decide(policy, "10.1.1.1").rule == "office")
        #expect(decide(policy, "198.51.100.1", Self.fdid).rule == "default")
    }

    @Test func anUnloadedSetInAnAllowRuleMatchesNothing() throws {
        let policy = try NetworkPolicy(try Self.settings(Self.rules), sets: ["blocked": Self.blocked])
        #expect(decide(policy, "192.0.2.3", Self.fdid).rule == "default")
        #expect(!decide(policy, "2001:db8:f0::7", Self.fdid).allowed)
        // The rule's own prefixes are not part of the set: they still admit.
        #expect(decide(policy, "10.9.1.1", Self.fdid).rule == "front-door")
        #expect(decide(policy, "10.1.1.1").rule == "office")
    }

    @Test func anUnloadedSetInADenyRuleMatchesEveryAddress() throws {
        let policy = try NetworkPolicy(try Self.settings(Self.rules, defaultAction: "allow"), sets: ["front-door": Self.frontDoor])
        for address in ["10.1.1.1", "192.0.2.3", "203.0.113.9", "::1", "2001:db8:f0::7", "::ffff:10.1.1.1", "0.0.0.0", "255.255.255.255"] {
            #expect(decide(policy, address, Self.fdid) == NetworkDecision(allowed: false, rule: "blocked", priority: 10), "\(address)")
        }
        #expect(policy.rules[0].ipSets.map(\.name) == ["blocked"] && policy.rules[0].ipSets[0].prefixes == nil)
    }

    /// "Every address" is the deny rule's address condition only: its headers still apply.
    @Test func anUnloadedDenySetKeepsItsRulesHeaderCondition() throws {
        let settings = try Self.settings("""
            - {name: blocked, priority: 10, action: deny, ip_sets: [blocked], headers: {x-env: [test]}}
            - {name: front-door, priority: 20, action: allow, ip_sets: [front-door]}
        """, defaultAction: "allow")
        let policy = try NetworkPolicy(settings, sets: ["front-door": Self.frontDoor])
        #expect(decide(policy, "10.1.1.1").allowed)
        #expect(decide(policy, "10.1.1.1", StaticHeaders([(name: "x-env", value: "test")])).rule == "blocked")
        #expect(decide(policy, "192.0.2.3", StaticHeaders([(name: "x-env", value: "prod")])).rule == "front-door")
    }

    /// A set as large as a service tag's (thousands of prefixes) goes through the direct-indexed
    /// trie and still agrees with the scan.
    @Test func aLargeSetAgreesWithTheScan() throws {
        var prefixes: [CIDR] = []
        for a in 0..<16 { for b in 0..<200 { prefixes.append(try CIDR.parse("20.\(a).\(b).0/24").get()) } }
        prefixes.append(try CIDR.parse("2603:1000::/40").get())
        let policy = try NetworkPolicy(try Self.settings(Self.rules), sets: ["front-door": prefixes, "blocked": Self.blocked])
        for address in ["20.3.7.9", "20.15.199.255", "20.15.200.1", "20.16.0.1", "2603:1000:ff::1", "2603:1001::1", "192.0.2.9"] {
            _ = decide(policy, address, Self.fdid)
        }
        #expect(decide(policy, "20.3.7.9", Self.fdid).rule == "front-door")
        #expect(decide(policy, "20.15.200.1", Self.fdid).rule == "default")
    }
}
