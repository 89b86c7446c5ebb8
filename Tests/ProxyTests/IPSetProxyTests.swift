import Config
import Foundation
import Proxy
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Named IP sets through the real proxy. Loopback addresses stand in for networks: a client
/// connecting from 127.0.0.2 is "in" a set that lists 127.0.0.2/32, one from 127.0.0.3 is not.
@Suite("Named IP sets through the proxy", .serialized)
struct IPSetProxyTests {
    /// A Service Tags document with Front Door's back end and, to show only the tag is taken,
    /// another tag that covers all of loopback.
    static func tags(_ backend: [String]) -> [UInt8] {
        let list = backend.map { "\"\($0)\"" }.joined(separator: ",")
        return Array("""
        {"changeNumber":9,"cloud":"Public","values":[
          {"name":"AzureCloud","id":"AzureCloud","properties":{"changeNumber":3,"region":"","addressPrefixes":["127.0.0.0/8"]}},
          {"name":"AzureFrontDoor.Backend","id":"AzureFrontDoor.Backend","properties":{"changeNumber":4,"region":"","regionId":0,
           "platform":"Azure","systemService":"AzureFrontDoor","addressPrefixes":[\(list)],"networkFeatures":["API","NSG"]}}]}
        """.utf8)
    }

    static func config(backend: UInt16, sets: String, rules: String, defaultAction: String = "deny", top: String = "") throws -> PortcullisConfig {
        try PortcullisConfig.parse(yaml: """
        \(top)
        listeners: [{address: "127.0.0.1:0"}]
        upstream: {url: "http://127.0.0.1:\(backend)"}
        workers: 1
        log: {access: false}
        readiness_path: /.portcullis/ready
        ip_sets:
        \(sets)
        network:
          default_action: \(defaultAction)
          rules:
        \(rules)
        """)
    }

    static func serve(_ config: PortcullisConfig, loadFirst: Bool = true) throws -> (ProxyServer, loaded: Bool) {
        let server = try ProxyServer(config: config, pipeline: try PipelineFactory(config: config))
        let loaded = loadFirst ? server.startIPSets() : false
        try server.start()
        return (server, loaded)
    }

    static func status(_ server: ProxyServer, from source: String, path: String = "/", headers: String = "") throws -> Int? {
        try response(server, from: source, path: path, headers: headers).status
    }

    static func response(_ server: ProxyServer, from source: String, path: String = "/", headers: String = "") throws -> RawResponse {
        let request = "GET \(path) HTTP/1.1\r\nHost: a\r\n\(headers)Connection: close\r\n\r\n"
        return try RawClient.exchange(port: server.boundAddresses[0].port, bytes: Array(request.utf8), responses: 1, halfClose: false, from: source)
    }

    static func metric(_ server: ProxyServer, _ line: String) -> Bool {
        String(decoding: server.renderMetrics(), as: UTF8.self).split(separator: "\n").contains { $0.hasPrefix(line) }
    }

    @Test func aFetchedSetAdmitsItsAddressesFollowsTheDocumentAndOutlivesItsSource() throws {
        let provider = TestHTTPServer()
        defer { provider.stop() }
        provider.set("/tags.json", .init(body: Self.tags(["127.0.0.2/32", "2001:db8:f0::/48"])))
        let backend = try DemoBackendHandle()
        let config = try Self.config(backend: backend.port, sets: """
          front-door: {url: "\(provider.url("/tags.json"))", format: azure_service_tags, tag: AzureFrontDoor.Backend, refresh: 1s}
        """, rules: "    - {name: front-door, priority: 200, action: allow, ip_sets: [front-door]}")
        let (server, loaded) = try Self.serve(config)
        defer { server.shutdown(drainMillis: 200) }
        #expect(loaded)
        #expect(try Self.status(server, from: "127.0.0.2") == 200)
        #expect(try Self.status(server, from: "127.0.0.3") == 403)
        // The other tag covers 127.0.0.1 too: it is not taken.
        #expect(try Self.status(server, from: "127.0.0.1") == 403)
        #expect(backend.backend.recorded.withLock { String(decoding: $0, as: UTF8.self) }.contains("X-Forwarded-For: 127.0.0.2\r\n"))
        #expect(server.unmetReadiness().isEmpty, "\(server.unmetReadiness())")
        #expect(Self.metric(server, "portcullis_ip_set_prefixes{set=\"front-door\"} 2"))
        #expect(Self.metric(server, "portcullis_ip_set_last_success_timestamp_seconds{set=\"front-door\"} "))

        // Front Door's ranges change: after the next refresh the new address is in, without a restart.
        provider.set("/tags.json", .init(body: Self.tags(["127.0.0.3/32"])))
        #expect(waitUntil(5) { (try? Self.status(server, from: "127.0.0.3")) == 200 })
        #expect(try Self.status(server, from: "127.0.0.2") == 403)
        #expect(Self.metric(server, "portcullis_ip_set_prefixes{set=\"front-door\"} 1"))

        // The source goes down, then serves garbage, then a document without the tag: the last
        // good set stays in force and the proxy stays ready.
        let withoutTheTag = Array(#"{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["127.0.0.0/8"]}}]}"#.utf8)
        for broken in [nil, Array("<html>maintenance</html>".utf8), withoutTheTag] {
            let hits = provider.count("/tags.json")
            if let broken {
                provider.failing.store(false, ordering: .relaxed)
                provider.set("/tags.json", .init(body: broken))
            } else {
                provider.failing.store(true, ordering: .relaxed)
            }
            #expect(waitUntil(10) { provider.count("/tags.json") > hits })
            #expect(try Self.status(server, from: "127.0.0.3") == 200)
            #expect(try Self.status(server, from: "127.0.0.2") == 403)
            #expect(server.unmetReadiness().isEmpty)
        }
    }

    @Test func anAllowRuleOnASetNeverLoadedAdmitsNobodyAndReadinessNamesIt() throws {
        let provider = TestHTTPServer()
        defer { provider.stop() }
        provider.failing.store(true, ordering: .relaxed)
        let backend = try DemoBackendHandle()
        let config = try Self.config(backend: backend.port, sets: """
          fd: {url: "\(provider.url("/tags.json"))", format: azure_service_tags, tag: AzureFrontDoor.Backend, refresh: 1h}
        """, rules: "    - {name: front-door, priority: 200, action: allow, ip_sets: [fd]}")
        let (server, loaded) = try Self.serve(config)
        defer { server.shutdown(drainMillis: 200) }
        #expect(!loaded)
        #expect(!server.isReady)
        for source in ["127.0.0.1", "127.0.0.2"] { #expect(try Self.status(server, from: source) == 403) }
        #expect(backend.backend.recorded.withLock { $0.isEmpty })
        let unmet = server.unmetReadiness()
        #expect(unmet.contains { $0.hasPrefix("ip set 'fd' not loaded yet (last attempt: \(provider.url("/tags.json")): transfer failed") }, "\(unmet)")
        let probe = try Self.response(server, from: "127.0.0.1", path: "/.portcullis/ready")
        #expect(probe.status == 503)
        #expect(probe.text.contains("ip set 'fd' not loaded yet"))
        #expect(Self.metric(server, "portcullis_ip_set_prefixes{set=\"fd\"} 0"))
        #expect(!Self.metric(server, "portcullis_ip_set_last_success_timestamp_seconds{set=\"fd\"}"))

        // The source comes back: the retry (with backoff, not the 1h refresh) loads it.
        provider.set("/tags.json", .init(body: Self.tags(["127.0.0.2/32"])))
        provider.failing.store(false, ordering: .relaxed)
        #expect(waitUntil(6) { (try? Self.status(server, from: "127.0.0.2")) == 200 })
        #expect(try Self.status(server, from: "127.0.0.1") == 403)
        #expect(server.unmetReadiness().isEmpty)
        #expect(try Self.status(server, from: "127.0.0.1", path: "/.portcullis/ready") == 200)
    }

    @Test func aDenyRuleOnASetNeverLoadedRefusesEveryAddressItsHeadersAllow() throws {
        let closed = Loopback.listen(listening: false)
        defer { close(closed.fd) }
        let backend = try DemoBackendHandle()
        let config = try Self.config(backend: backend.port, sets: """
          blocked: {url: "http://127.0.0.1:\(closed.port)/blocked.txt", format: cidr_list}
          test-clients: {url: "http://127.0.0.1:\(closed.port)/test.txt", format: cidr_list}
        """, rules: """
            - {name: blocked, priority: 10, action: deny, ip_sets: [blocked], headers: {x-env: [prod]}}
            - {name: test-clients, priority: 20, action: deny, ip_sets: [test-clients], headers: {x-env: [test]}}
        """, defaultAction: "allow")
        let (server, loaded) = try Self.serve(config)
        defer { server.shutdown(drainMillis: 200) }
        #expect(!loaded)
        for source in ["127.0.0.1", "127.0.0.2"] {
            #expect(try Self.status(server, from: source, headers: "X-Env: prod\r\n") == 403)
            #expect(try Self.status(server, from: source, headers: "X-Env: test\r\n") == 403)
            // "Every address" is the rules' address condition; their headers still decide.
            #expect(try Self.status(server, from: source, headers: "X-Env: dev\r\n") == 200)
            #expect(try Self.status(server, from: source) == 200)
        }
        let unmet = server.unmetReadiness()
        #expect(unmet.contains { $0.hasPrefix("ip set 'blocked' not loaded yet") } && unmet.contains { $0.hasPrefix("ip set 'test-clients' not loaded yet") },
                "\(unmet)")
    }

    @Test func aReloadKeepsUnchangedSetsAndLoadsChangedOnesBeforeTakingEffect() throws {
        let provider = TestHTTPServer()
        defer { provider.stop() }
        provider.set("/a.txt", .init(body: Array("# partners\n127.0.0.2/32\n".utf8)))
        provider.set("/b.txt", .init(body: Array("127.0.0.3/32\n".utf8)))
        let backend = try DemoBackendHandle()
        func config(_ path: String, refresh: String = "1h", comment: String = "", extraRule: String = "") throws -> PortcullisConfig {
            try Self.config(backend: backend.port, sets: "  partners: {url: \"\(provider.url(path))\", format: cidr_list, refresh: \(refresh)}",
                            rules: "    - {name: partners, priority: 10, action: allow, ip_sets: [partners]}\n\(extraRule)", top: comment)
        }
        let (server, loaded) = try Self.serve(try config("/a.txt"))
        defer { server.shutdown(drainMillis: 200) }
        #expect(loaded)
        #expect(provider.count("/a.txt") == 1)
        #expect(try Self.status(server, from: "127.0.0.2") == 200)

        // Lines move and a rule is added; the set is the same: nothing is fetched, and a request
        // right after the reload is admitted (no moment without the set).
        _ = try server.reload(try config("/a.txt", comment: "# reloaded\n#\n", extraRule: "    - {name: four, priority: 20, action: allow, cidrs: [127.0.0.4/32]}"))
        #expect(try Self.status(server, from: "127.0.0.2") == 200)
        usleep(50_000)
        #expect(try Self.status(server, from: "127.0.0.4") == 200)
        // A new refresh interval keeps the prefixes too.
        _ = try server.reload(try config("/a.txt", refresh: "2h"))
        #expect(try Self.status(server, from: "127.0.0.2") == 200)
        #expect(provider.count("/a.txt") == 1)
        #expect(server.unmetReadiness().isEmpty)

        // Another source: loaded by the reload itself, in force as soon as the workers take it.
        _ = try server.reload(try config("/b.txt"))
        #expect(provider.count("/b.txt") == 1)
        usleep(50_000)
        #expect(try Self.status(server, from: "127.0.0.3") == 200)
        #expect(try Self.status(server, from: "127.0.0.2") == 403)
        #expect(server.unmetReadiness().isEmpty)
        usleep(300_000)
        #expect(provider.count("/b.txt") == 1 && provider.count("/a.txt") == 1)
    }

    @Test func anUnreadableCAIsAConfigErrorNamingItsKey() throws {
        let config = try Self.config(backend: 1, sets: "  s: {url: \"https://lists.example/s.txt\", format: cidr_list, ca: /nonexistent/ca.pem}",
                                     rules: "    - {name: s, priority: 1, action: allow, ip_sets: [s]}")
        #expect {
            _ = try PipelineFactory(config: config)
        } throws: { error in
            (error as? ConfigError)?.key == "ip_sets.s.ca"
        }
    }

    /// A reload that compiles but is refused (a listener's port is taken) leaves readiness as the
    /// configuration still in effect has it, not as the refused one would have.
    @Test func aRefusedReloadLeavesReadinessAsItWas() throws {
        let provider = TestHTTPServer()
        defer { provider.stop() }
        provider.set("/a.txt", .init(body: Array("127.0.0.2/32\n".utf8)))
        let busy = Loopback.listen()
        defer { close(busy.fd) }
        let backend = try DemoBackendHandle()
        let (server, loaded) = try Self.serve(try Self.config(backend: backend.port, sets: "  a: {url: \"\(provider.url("/a.txt"))\", format: cidr_list}",
                                                              rules: "    - {name: a, priority: 1, action: allow, ip_sets: [a]}"))
        defer { server.shutdown(drainMillis: 200) }
        #expect(loaded && server.isReady)
        let refused = try PortcullisConfig.parse(yaml: """
        listeners: [{address: "127.0.0.1:0"}, {address: "127.0.0.1:\(busy.port)"}]
        upstream: {url: "http://127.0.0.1:\(backend.port)"}
        ip_sets: {missing: {url: "\(provider.url("/missing.txt"))", format: cidr_list}}
        network: {rules: [{name: m, priority: 1, action: allow, ip_sets: [missing]}]}
        """)
        #expect(throws: ProxyServer.ReloadError.self) { try server.reload(refused) }
        #expect(provider.count("/missing.txt") == 1)
        #expect(server.isReady)
        #expect(server.unmetReadiness().isEmpty, "\(server.unmetReadiness())")
        #expect(try Self.status(server, from: "127.0.0.2") == 200)
    }

    @Test func aFileSetIsReadBeforeServingAndReReadAtEachRefresh() throws {
        let path = NSTemporaryDirectory() + "portcullis-set-\(getpid()).txt"
        defer { unlink(path) }
        try "127.0.0.2/32\n".write(toFile: path, atomically: true, encoding: .utf8)
        let backend = try DemoBackendHandle()
        let config = try Self.config(backend: backend.port, sets: "  office: {file: \"\(path)\", format: cidr_list, refresh: 1s}",
                                     rules: "    - {name: office, priority: 10, action: allow, ip_sets: [office]}")
        let (server, loaded) = try Self.serve(config)
        defer { server.shutdown(drainMillis: 200) }
        #expect(loaded)
        #expect(try Self.status(server, from: "127.0.0.2") == 200)
        #expect(try Self.status(server, from: "127.0.0.3") == 403)
        try "127.0.0.2/32\n127.0.0.3/32\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(waitUntil(5) { (try? Self.status(server, from: "127.0.0.3")) == 200 })
        // A bad line refuses the whole new file: the set stays as it was.
        try "127.0.0.5/32\n127.0.0.300/32\n".write(toFile: path, atomically: true, encoding: .utf8)
        usleep(2_500_000)
        #expect(try Self.status(server, from: "127.0.0.3") == 200)
        #expect(try Self.status(server, from: "127.0.0.5") == 403)
    }
}
