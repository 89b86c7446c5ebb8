import Foundation
import Testing
@testable import Config

/// `ip_sets` and the rules that name them: the issue's example reads as written, and each
/// mistake is named by its key.
@Suite("IP set configuration")
struct IPSetConfigTests {
    static func parse(_ sets: String, rules: String) throws -> PortcullisConfig {
        try PortcullisConfig.parse(yaml: """
        listeners: [{address: "127.0.0.1:1"}]
        upstream: {url: "http://127.0.0.1:2"}
        ip_sets:
        \(sets)
        network:
          rules:
        \(rules)
        """)
    }

    @Test func theIssuesExampleReads() throws {
        let config = try Self.parse("""
          front-door:
            url: https://example.blob.core.windows.net/tags/ServiceTags_Public.json
            format: azure_service_tags
            tag: AzureFrontDoor.Backend
            refresh: 6h
          office: {file: /etc/portcullis/office.txt, format: cidr_list, refresh: 1s}
        """, rules: """
            - {name: front-door, priority: 200, action: allow, ip_sets: [front-door], headers: {x-azure-fdid: [abc]}}
            - {name: office, priority: 100, action: allow, cidrs: [10.0.0.0/8], ip_sets: [office]}
        """)
        #expect(config.ipSets.map(\.name) == ["front-door", "office"])
        let frontDoor = config.ipSets[0]
        #expect(frontDoor.source == .url("https://example.blob.core.windows.net/tags/ServiceTags_Public.json"))
        #expect(frontDoor.format == .azureServiceTags && frontDoor.tag == "AzureFrontDoor.Backend")
        #expect(frontDoor.refresh == .seconds(6 * 3600))
        #expect(config.ipSets[1].source == .file("/etc/portcullis/office.txt"))
        #expect(config.ipSets[1].refresh == .seconds(1))
        let rules = try #require(config.network?.rules)
        #expect(rules[0].ipSets.map(\.value) == ["front-door"] && rules[0].cidrs.isEmpty)
        #expect(rules[0].ipSets[0].key == "network.rules[0].ip_sets[0]")
        #expect(rules[1].ipSets.map(\.value) == ["office"] && rules[1].cidrs.map(\.value) == ["10.0.0.0/8"])
        // Refresh defaults to 6h; a loopback http URL is accepted (tests, a local mirror).
        let defaults = try Self.parse("  s: {url: \"http://127.0.0.1:9/s.txt\", format: cidr_list}", rules: "    - {name: r, priority: 1, action: deny, ip_sets: [s]}")
        #expect(defaults.ipSets[0].refresh == .seconds(21_600))
    }

    @Test(arguments: [
        ("  s: {url: \"https://x/s\", format: cidr_list}", "    - {name: r, priority: 1, action: allow, ip_sets: [t]}",
         "network.rules[0].ip_sets[0]", "no ip set named 't'; configured: s"),
        ("  s: {url: \"https://x/s\", format: cidr_list}\n  t: {file: t.txt, format: cidr_list}", "    - {name: r, priority: 1, action: allow, ip_sets: [s]}",
         "ip_sets.t", "ip set 't' is not used by any network rule"),
        ("  s: {url: \"https://x/s\", file: s.txt, format: cidr_list}", "    - {name: r, priority: 1, action: allow, ip_sets: [s]}",
         "ip_sets.s", "needs exactly one of url or file"),
        ("  s: {format: cidr_list}", "    - {name: r, priority: 1, action: allow, ip_sets: [s]}",
         "ip_sets.s", "needs exactly one of url or file"),
        ("  s: {url: \"https://x/s\"}", "    - {name: r, priority: 1, action: allow, ip_sets: [s]}",
         "ip_sets.s", "the required key 'format' is missing"),
        ("  s: {url: \"https://x/s\", format: json}", "    - {name: r, priority: 1, action: allow, ip_sets: [s]}",
         "ip_sets.s.format", "not one of: azure_service_tags, cidr_list"),
        ("  s: {url: \"https://x/s\", format: azure_service_tags}", "    - {name: r, priority: 1, action: allow, ip_sets: [s]}",
         "ip_sets.s", "needs the tag to take"),
        ("  s: {url: \"https://x/s\", format: cidr_list, tag: AzureFrontDoor.Backend}", "    - {name: r, priority: 1, action: allow, ip_sets: [s]}",
         "ip_sets.s.tag", "tag is for azure_service_tags"),
        ("  s: {url: \"https://x/s\", format: cidr_list, refresh: 500ms}", "    - {name: r, priority: 1, action: allow, ip_sets: [s]}",
         "ip_sets.s.refresh", "at least 1s"),
        ("  s: {file: s.txt, format: cidr_list, ca: ca.pem}", "    - {name: r, priority: 1, action: allow, ip_sets: [s]}",
         "ip_sets.s.ca", "ca is for sets fetched over https"),
        ("  s: {url: \"http://lists.example.com/s\", format: cidr_list}", "    - {name: r, priority: 1, action: allow, ip_sets: [s]}",
         "ip_sets.s.url", "must be an https:// URL"),
        ("  \"s t\": {url: \"https://x/s\", format: cidr_list}", "    - {name: r, priority: 1, action: allow, ip_sets: [\"s t\"]}",
         "ip_sets.s t", "not an ip set name"),
        ("  s: {url: \"https://x/s\", format: cidr_list, refesh: 1h}", "    - {name: r, priority: 1, action: allow, ip_sets: [s]}",
         "ip_sets.s.refesh", "did you mean 'refresh'?"),
        ("  s: {url: \"https://x/s\", format: cidr_list}", "    - {name: r, priority: 1, action: allow, ip_sets: []}",
         "network.rules[0].ip_sets", "lists no ip sets"),
        ("  s: {url: \"https://x/s\", format: cidr_list}", "    - {name: r, priority: 1, action: allow, ip_sets: [s, s]}",
         "network.rules[0].ip_sets[1]", "names ip set 's' twice"),
        ("  s: {url: \"https://x/s\", format: cidr_list}", "    - {name: r, priority: 1, action: allow, ip_sets: [s]}\n    - {name: q, priority: 2, action: allow}",
         "network.rules[1]", "needs cidrs, ip_sets or both"),
        ("  s: {url: \"https://x/s\", format: cidr_list}", "    - {name: r, priority: 1, action: allow, ip_set: [s]}",
         "network.rules[0].ip_set", "did you mean 'ip_sets'?"),
    ])
    func mistakesAreNamed(sets: String, rules: String, key: String, reason: String) {
        #expect {
            _ = try Self.parse(sets, rules: rules)
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.key == key && error.reason.contains(reason)
        }
    }

    @Test func setsWithoutNetworkRulesAreUnused() {
        #expect {
            _ = try PortcullisConfig.parse(yaml: """
            listeners: [{address: "127.0.0.1:1"}]
            upstream: {url: "http://127.0.0.1:2"}
            ip_sets: {s: {file: s.txt, format: cidr_list}}
            """)
        } throws: { error in
            (error as? ConfigError)?.reason.contains("not used by any network rule") == true
        }
        #expect {
            _ = try PortcullisConfig.parse(yaml: """
            listeners: [{address: "127.0.0.1:1"}]
            upstream: {url: "http://127.0.0.1:2"}
            network: {rules: [{name: r, priority: 1, action: allow, ip_sets: [s]}]}
            """)
        } throws: { error in
            (error as? ConfigError)?.reason == "no ip set named 's'; define it under ip_sets"
        }
    }

    /// `/config` shows every set, URL credentials redacted, and each rule's sets.
    @Test func theEffectiveConfigShowsTheSets() throws {
        let config = try Self.parse("""
          s: {url: "https://user:pw@x.example/s.json", format: azure_service_tags, tag: AzureFrontDoor.Backend, ca: /etc/ca.pem}
          f: {file: f.txt, format: cidr_list, refresh: 90s}
        """, rules: "    - {name: r, priority: 1, action: allow, ip_sets: [s, f]}")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(config.effectiveJSON.utf8)) as? [String: Any])
        let sets = try #require(json["ip_sets"] as? [String: [String: Any]])
        #expect(sets["s"]?["url"] as? String == "https://[redacted]@x.example/s.json")
        #expect(sets["s"]?["tag"] as? String == "AzureFrontDoor.Backend")
        #expect(sets["s"]?["refresh"] as? String == "6h")
        #expect(sets["s"]?["ca"] as? String == "/etc/ca.pem")
        #expect(sets["f"]?["file"] as? String == "f.txt")
        #expect(sets["f"]?["url"] is NSNull)
        #expect(sets["f"]?["refresh"] as? String == "90s")
        #expect(sets["f"]?["format"] as? String == "cidr_list")
        let rule = try #require(((json["network"] as? [String: Any])?["rules"] as? [[String: Any]])?.first)
        #expect(rule["ip_sets"] as? [String] == ["s", "f"])
    }

    /// The example the README points to reads as it is, from the repository root.
    @Test func theIPSetsExampleIsValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..")
        let config = try PortcullisConfig.load(path: root.appendingPathComponent("config/examples/ip-sets.yaml").path)
        #expect(config.ipSets.map(\.name) == ["front-door", "blocked"])
        #expect(config.ipSets[0].source == .file("config/examples/service-tags.sample.json"))
        #expect(config.network?.rules.map(\.name) == ["blocked", "front-door"])
    }
}
