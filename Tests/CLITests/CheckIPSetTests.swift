import Foundation
import Testing

/// `portcullis check` with named IP sets: the README's example as written, run from the
/// repository root as its comments say.
@Suite("portcullis check with ip sets")
struct CheckIPSetTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardizedFileURL
    static let fdid = "x-azure-fdid:3f6c1a52-2b7e-4c3e-9d55-0c2a4f7e8b10"

    @Test func theExampleReadsItsFileSetsAndExplainsDecisions() throws {
        let cli = CLITests()
        let example = "config/examples/ip-sets.yaml"
        let table = try cli.run(["check", "--config", example], directory: Self.root)
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("200      allow  front-door: ip set 'front-door'  if x-azure-fdid in [3f6c1a52-2b7e-4c3e-9d55-0c2a4f7e8b10]"))
        #expect(table.stdout.contains("front-door: azure_service_tags tag AzureFrontDoor.Backend from file config/examples/service-tags.sample.json, refresh 6h: 4 prefixes"))
        #expect(table.stdout.contains("blocked: cidr_list from file config/examples/blocked-networks.sample.txt, refresh 1m: 3 prefixes"))

        let frontDoor = try cli.run(["check", "--config", example, "--ip", "198.51.100.70", "--header", Self.fdid], directory: Self.root)
        #expect(frontDoor.stdout.hasPrefix("198.51.100.70: ALLOW by rule 'front-door'"))
        #expect(frontDoor.stdout.contains("via ip set 'front-door' 198.51.100.64/26, headers match"))
        let blocked = try cli.run(["check", "--config", example, "--ip", "192.0.2.9", "--header", Self.fdid], directory: Self.root)
        #expect(blocked.stdout.hasPrefix("192.0.2.9: DENY by rule 'blocked'"))
        let noHeader = try cli.run(["check", "--config", example, "--ip", "2001:db8:f1:8::5"], directory: Self.root)
        #expect(noHeader.stdout.hasPrefix("2001:db8:f1:8::5: DENY by the default action"))
        #expect(noHeader.stdout.contains("headers do not match"))
    }

    /// Check fetches nothing: a URL set is named as not fetched, and `--ip` says what the
    /// proxy does until it loads (an allow rule admits nobody through it, a deny rule refuses
    /// everybody). A file set that cannot be read is named with the reason.
    @Test func setsNotLoadedHereAreNamedWithWhatTheProxyDoesMeanwhile() throws {
        let cli = CLITests()
        let path = try cli.writeConfig("""
        listeners: [{address: "127.0.0.1:18995"}]
        upstream: {url: "http://127.0.0.1:8000"}
        ip_sets:
          fd: {url: "https://example.invalid/tags.json", format: azure_service_tags, tag: AzureFrontDoor.Backend}
          blocked: {url: "https://example.invalid/blocked.txt", format: cidr_list}
          gone: {file: /nonexistent/portcullis/office.txt, format: cidr_list}
        network:
          rules:
            - {name: blocked, priority: 1, action: deny, ip_sets: [blocked], headers: {x-env: [prod]}}
            - {name: fd, priority: 2, action: allow, ip_sets: [fd]}
            - {name: office, priority: 3, action: allow, cidrs: [10.0.0.0/8], ip_sets: [gone]}
        """)
        let table = try cli.run(["check", "--config", path])
        #expect(table.status == 0)
        #expect(table.stdout.contains("fd: azure_service_tags tag AzureFrontDoor.Backend from https://example.invalid/tags.json, refresh 6h: not fetched by check"))
        #expect(table.stdout.contains("gone: cidr_list from file /nonexistent/portcullis/office.txt, refresh 6h: NOT LOADED: cannot read /nonexistent/portcullis/office.txt: No such file or directory"))
        let prod = try cli.run(["check", "--config", path, "--ip", "10.1.2.3", "--header", "x-env:prod"])
        #expect(prod.stdout.hasPrefix("10.1.2.3: DENY by rule 'blocked'"))
        #expect(prod.stdout.contains("note: rule blocked uses ip set 'blocked', and check fetches no URL; until the proxy loads it, the rule matches every address through it"))
        #expect(prod.stdout.contains("note: rule fd uses ip set 'fd', and check fetches no URL; until the proxy loads it, the rule matches no address through it"))
        #expect(prod.stdout.contains("note: rule office uses ip set 'gone', and it could not be loaded (cannot read /nonexistent/portcullis/office.txt"))
        let dev = try cli.run(["check", "--config", path, "--ip", "10.1.2.3"])
        #expect(dev.stdout.hasPrefix("10.1.2.3: ALLOW by rule 'office'"))
    }
}
