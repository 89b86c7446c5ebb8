import Benchmark
import Metrics

/// The request path's metric work: one grid lookup and increment, and one histogram observation,
/// on a worker's own shard. Both must stay allocation-free (mallocs 0).
func setup() -> (PortcullisMetrics, SeriesGrid<Counter>, MetricsShard) {
    do {
        let metrics = try PortcullisMetrics(version: "bench")
        let requests = try metrics.requests.grid([
            LabelAxis("listener", ["0.0.0.0:8080", "0.0.0.0:8443"]),
            LabelAxis("protocol", ["http/1.1", "h2"]),
            LabelAxis(["decision", "reason"], [["allowed", "ok"], ["denied", "network_denied"], ["denied", "token_missing"]]),
        ])
        return (metrics, requests, metrics.registry.makeShard())
    } catch {
        fatalError("benchmark setup: \(error)")
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        scalingFactor: .mega,
        maxDuration: .seconds(3)
    )

    Benchmark("MetricsShard.increment (3-axis grid lookup + counter)") { benchmark in
        let (metrics, requests, shard) = setup()
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations {
            shard.increment(requests[i & 1, (i >> 1) & 1, i % 3])
        }
        benchmark.stopMeasurement()
        blackHole(metrics.registry.render().count)
    }

    Benchmark("MetricsShard.observe (16-bucket latency histogram)") { benchmark in
        let (metrics, _, shard) = setup()
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations {
            shard.observe(metrics.requestDuration, nanoseconds: Int64(i & 0xFFFFF) * 997)
        }
        benchmark.stopMeasurement()
        blackHole(metrics.registry.render().count)
    }

    Benchmark("MetricsRegistry.render (all Portcullis families, 4 shards)", configuration: .init(scalingFactor: .one)) { benchmark in
        let (metrics, _, _) = setup()
        for _ in 0..<3 { _ = metrics.registry.makeShard() }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(metrics.registry.render().count)
        }
        benchmark.stopMeasurement()
    }
}
