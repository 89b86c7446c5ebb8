import Foundation
import Testing
@testable import Metrics
import TestSupport

/// The exposition read by a real Prometheus text parser: Python's `prometheus_client`
/// (`text_string_to_metric_families`), installed by scripts/setup.sh.
@Suite("Metrics read by prometheus_client")
struct PrometheusParserTests {
    typealias Parsed = PrometheusText.Sample

    func parse(_ exposition: [UInt8]) throws -> [Parsed] {
        try PrometheusText.parse(exposition)
    }

    @Test func thePortcullisFamiliesParseWithTheirValues() throws {
        let metrics = try PortcullisMetrics(version: "1.2.3", tokenCacheEntries: { 5 })
        let requests = try metrics.requests.grid([
            LabelAxis("listener", ["0.0.0.0:8080"]),
            LabelAxis("protocol", ["http/1.1", "h2"]),
            LabelAxis(["decision", "reason"], [["allowed", "ok"], ["denied", "network_denied"]]),
        ])
        let issuer = "https://login.example.com/\"tenant\"\\v2.0"
        let fetched = try metrics.jwksFetches.series([issuer, "success"])
        let keys = try metrics.jwksKeys.series([issuer])
        let connections = try metrics.connectionsActive.series(["0.0.0.0:8080"])
        let workers = [metrics.registry.makeShard(), metrics.registry.makeShard()]
        let fetcher = metrics.registry.makeShard()
        for (i, shard) in workers.enumerated() {
            shard.add(requests[0, 1, 0], 3)
            shard.increment(requests[0, 0, 1])
            shard.observe(metrics.requestDuration, 0.0001)
            shard.observe(metrics.requestDuration, 0.003)
            shard.observe(metrics.upstreamDuration, 42)
            shard.set(metrics.upstreamIdle, Double(i + 1))
            shard.increment(metrics.tokenCacheHits)
            shard.add(connections, 2)
        }
        fetcher.increment(fetched)
        fetcher.set(keys, 2)
        fetcher.set(metrics.configGeneration, 1)

        let parsed = try parse(metrics.registry.render())
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            parsed.first { $0.name == name && $0.labels == labels }?.value
        }
        let h2Allowed = ["listener": "0.0.0.0:8080", "protocol": "h2", "decision": "allowed", "reason": "ok"]
        #expect(value("portcullis_requests_total", h2Allowed) == 6)
        #expect(value("portcullis_requests_total", ["listener": "0.0.0.0:8080", "protocol": "http/1.1",
                                                    "decision": "denied", "reason": "network_denied"]) == 2)
        #expect(value("portcullis_requests_total", ["listener": "0.0.0.0:8080", "protocol": "http/1.1",
                                                    "decision": "allowed", "reason": "ok"]) == 0)
        #expect(value("portcullis_request_duration_seconds_bucket", ["le": "0.0001"]) == 2)
        #expect(value("portcullis_request_duration_seconds_bucket", ["le": "0.005"]) == 4)
        #expect(value("portcullis_request_duration_seconds_count") == 4)
        #expect(value("portcullis_upstream_duration_seconds_bucket", ["le": "10"]) == 0)
        #expect(value("portcullis_upstream_duration_seconds_bucket", ["le": "+Inf"]) == 2)
        #expect(value("portcullis_upstream_duration_seconds_sum") == 84)
        #expect(value("portcullis_upstream_connections", ["state": "idle"]) == 3)
        #expect(value("portcullis_upstream_connections", ["state": "active"]) == 0)
        #expect(value("portcullis_token_cache_hits_total") == 2)
        #expect(value("portcullis_connections_active", ["listener": "0.0.0.0:8080"]) == 4)
        #expect(value("portcullis_token_cache_entries") == 5)
        #expect(value("portcullis_jwks_fetches_total", ["issuer": issuer, "result": "success"]) == 1)
        #expect(value("portcullis_jwks_keys", ["issuer": issuer]) == 2)
        #expect(value("portcullis_config_generation") == 1)
        #expect(value("portcullis_config_reloads_total", ["result": "failure"]) == 0)
        #expect(value("portcullis_build_info", ["version": "1.2.3"]) == 1)
        #expect((value("process_resident_memory_bytes") ?? 0) > 0)
        #expect((value("process_open_fds") ?? 0) > 0)
        #expect(parsed.first { $0.name == "process_cpu_seconds_total" }?.type == "counter")
        #expect(parsed.first { $0.family == "portcullis_request_duration_seconds" }?.type == "histogram")
        #expect(parsed.first { $0.family == "portcullis_connections_active" }?.type == "gauge")
        #expect(parsed.first { $0.family == "portcullis_requests" }?.help == "Traffic requests by listener, protocol, decision and reason.")
    }
}
