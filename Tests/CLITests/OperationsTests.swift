import Foundation
import TestSupport
import Testing

/// The admin listener of the running binary as an SRE uses it: probes, the metrics a real
/// Prometheus parser reads back, the effective config, and reloads counted.
@Suite("Operations endpoints", .serialized)
struct OperationsTests {
    static func get(_ port: UInt16, _ path: String) -> (status: Int?, body: String) {
        let text = Loopback.exchange(port: port, "GET \(path) HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n")
        let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) }
        let body = text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        return (status, body)
    }

    static func config(backend: UInt16, port: UInt16, admin: UInt16, keys: String, rule: String) -> String {
        """
        listeners: [{address: "127.0.0.1:\(port)"}]
        upstream: {url: "http://127.0.0.1:\(backend)"}
        workers: 2
        admin: {address: "127.0.0.1:\(admin)"}
        log: {access: false}
        client_ip: {trusted_proxies: [127.0.0.0/8], header: x-forwarded-for}
        network:
          default_action: deny
          rules: [{name: \(rule), priority: 1, action: allow, cidrs: [127.0.0.0/8]}]
        auth:
          issuers: [{issuer: "https://issuer.test/", jwks_url: "\(keys)", audiences: [api://b], algorithms: [ES256]}]
          keys: {fetch_timeout: 1s}
        """
    }

    @Test func probesMetricsConfigAndReloadsAsAnOperatorSeesThem() throws {
        let setup = try AccessLogTests.keys()
        defer { try? FileManager.default.removeItem(atPath: setup.directory) }
        let provider = TestHTTPServer()
        defer { provider.stop() }
        let jwks = try String(contentsOfFile: setup.directory + "/jwks.json", encoding: .utf8)
        provider.set("/keys", .init(body: Array(jwks.utf8)))
        provider.failing.store(true, ordering: .relaxed)

        let backendPort = ReloadTests.freePort(), port = ReloadTests.freePort(), admin = ReloadTests.freePort()
        let path = setup.directory + "/portcullis.yaml"
        try Self.config(backend: backendPort, port: port, admin: admin, keys: provider.url("/keys"), rule: "loopback")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let running = try ReloadTests.Running(directory: setup.directory, configPath: path, backendPort: backendPort)
        var log = ""
        defer { if running.proxy.isRunning { log = running.stop().1 } }

        // Alive at once; not ready while the identity provider fails, and it says which issuer.
        var health: Int?
        for _ in 0..<250 where health != 200 {
            usleep(40_000)
            health = Self.get(admin, "/healthz").status
        }
        #expect(health == 200)
        let notReady = Self.get(admin, "/readyz")
        #expect(notReady.status == 503)
        #expect(notReady.body.contains("issuer https://issuer.test/: no signing keys yet"), "\(notReady.body)")
        let cli = CLITests()
        #expect(try cli.run(["probe", "http://127.0.0.1:\(admin)/readyz"]).status == 1)
        provider.failing.store(false, ordering: .relaxed)
        var ready: Int?
        for _ in 0..<200 where ready != 200 {
            usleep(50_000)
            ready = Self.get(admin, "/readyz").status
        }
        #expect(ready == 200, "readiness did not flip once the keys loaded")
        #expect(try cli.run(["probe", "http://127.0.0.1:\(admin)/readyz"]).status == 0)
        let fetchesWhenReady = provider.count("/keys")

        // Traffic: 3 allowed, 2 without a token, 1 from a network no rule allows.
        func send(_ extra: String) throws -> Int? {
            try RawClient.exchange(port: port, bytes: Array("GET /orders HTTP/1.1\r\nHost: a\r\n\(extra)Connection: close\r\n\r\n".utf8),
                                   responses: 1, halfClose: false).status
        }
        for _ in 0..<3 { #expect(try send("Authorization: Bearer \(setup.token)\r\n") == 200) }
        for _ in 0..<2 { #expect(try send("") == 401) }
        #expect(try send("X-Forwarded-For: 203.0.113.9\r\n") == 403)
        // Admin requests are not traffic: scraping twice changes no request count.
        _ = Self.get(admin, "/metrics")
        let exposition = Self.get(admin, "/metrics")
        #expect(exposition.status == 200)
        let samples = try PrometheusText.parse(Array(exposition.body.utf8))
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            samples.first { $0.name == name && $0.labels == labels }?.value
        }
        let listener = "127.0.0.1:\(port)"
        func requests(_ decision: String, _ reason: String) -> Double? {
            value("portcullis_requests_total", ["listener": listener, "protocol": "http/1.1", "decision": decision, "reason": reason])
        }
        #expect(requests("allowed", "allowed") == 3)
        #expect(requests("denied", "token_missing") == 2)
        #expect(requests("denied", "network_denied") == 1)
        #expect(value("portcullis_request_duration_seconds_count") == 6)
        #expect(value("portcullis_upstream_duration_seconds_count") == 3)
        #expect(value("portcullis_network_rule_hits_total", ["rule": "loopback"]) == 5)
        #expect(value("portcullis_network_rule_hits_total", ["rule": "default"]) == 1)
        #expect(value("portcullis_token_cache_misses_total") == 1)
        #expect(value("portcullis_token_cache_hits_total") == 2)
        #expect(value("portcullis_token_cache_entries") == 1)
        #expect((value("portcullis_jwks_fetches_total", ["issuer": "https://issuer.test/", "result": "failure"]) ?? 0) >= 1)
        #expect(value("portcullis_jwks_fetches_total", ["issuer": "https://issuer.test/", "result": "success"]) == 1)
        #expect(value("portcullis_jwks_keys", ["issuer": "https://issuer.test/"]) == 1)
        #expect((value("portcullis_jwks_last_success_timestamp_seconds", ["issuer": "https://issuer.test/"]) ?? 0) > 1_700_000_000)
        #expect(value("portcullis_connections_active", ["listener": listener]) == 0)
        #expect(value("portcullis_config_generation") == 1)
        #expect(value("portcullis_build_info", ["version": "0.1.0"]) == 1)
        #expect((value("process_resident_memory_bytes") ?? 0) > 0)

        // The effective config, secrets never in it; anything else is 404.
        let config = Self.get(admin, "/config")
        #expect(config.status == 200)
        let json = try JSONSerialization.jsonObject(with: Data(config.body.utf8)) as? [String: Any]
        #expect((json?["admin"] as? [String: Any])?["address"] as? String == "127.0.0.1:\(admin)")
        #expect(Self.get(admin, "/nope").status == 404)

        // A reload and a refused one, both counted; the generation moves with the good one.
        try Self.config(backend: backendPort, port: port, admin: admin, keys: provider.url("/keys"), rule: "renamed")
            .write(toFile: path, atomically: true, encoding: .utf8)
        var generation: Double?
        for _ in 0..<100 where generation != 2 {
            usleep(50_000)
            generation = try PrometheusText.parse(Array(Self.get(admin, "/metrics").body.utf8))
                .first { $0.name == "portcullis_config_generation" }?.value
        }
        #expect(generation == 2)
        try "listeners: nope\n".write(toFile: path, atomically: true, encoding: .utf8)
        var failures: Double?
        for _ in 0..<100 where failures != 1 {
            usleep(50_000)
            failures = try PrometheusText.parse(Array(Self.get(admin, "/metrics").body.utf8))
                .first { $0.name == "portcullis_config_reloads_total" && $0.labels == ["result": "failure"] }?.value
        }
        #expect(failures == 1)
        #expect(try send("Authorization: Bearer \(setup.token)\r\n") == 200, "the refused file changed what is served")
        #expect(provider.count("/keys") == fetchesWhenReady, "a reload that kept the key source fetched the keys again")
        let (status, output) = running.stop()
        log = output
        #expect(status == 0, "\(log)")
    }
}
