import Testing
@testable import Metrics

@Suite("Metrics registry and exposition")
struct MetricsTests {
    @Test func countersAreSummedAcrossShards() throws {
        let registry = MetricsRegistry()
        let family = try registry.counter("t_requests_total", help: "Requests.", labels: ["code"])
        let ok = try family.series(["200"])
        let bad = try family.series(["500"])
        let shards = (0..<3).map { _ in registry.makeShard() }
        for (i, shard) in shards.enumerated() {
            for _ in 0...i { shard.increment(ok) }
            shard.add(bad, 10)
        }
        let s = samples(registry)
        #expect(s["t_requests_total{code=\"200\"}"] == "6")
        #expect(s["t_requests_total{code=\"500\"}"] == "30")
    }

    @Test func registeredSeriesAppearAtZeroAndHeadersOncePerFamily() throws {
        let registry = MetricsRegistry()
        let family = try registry.counter("t_hits_total", help: "Hits.", labels: ["rule"])
        _ = try family.series(["a"])
        _ = try family.series(["b"])
        _ = try registry.gauge("t_open", help: "Open.").series()
        _ = registry.makeShard()
        let output = text(registry)
        #expect(output == """
        # HELP t_hits_total Hits.
        # TYPE t_hits_total counter
        t_hits_total{rule="a"} 0
        t_hits_total{rule="b"} 0
        # HELP t_open Open.
        # TYPE t_open gauge
        t_open 0

        """)
    }

    @Test func theSameLabelValuesGiveTheSameSeries() throws {
        let registry = MetricsRegistry()
        let family = try registry.counter("t_total", help: "x", labels: ["a", "b"])
        let first = try family.series(["1", "2"])
        let again = try family.series(["1", "2"])
        #expect(first == again)
        #expect(first != (try family.series(["2", "1"])))
    }

    @Test func mistakesAreTypedErrors() throws {
        let registry = MetricsRegistry()
        #expect(throws: MetricsError.invalidMetricName("9lives")) { try registry.counter("9lives", help: "") }
        #expect(throws: MetricsError.invalidMetricName("")) { try registry.counter("", help: "") }
        #expect(throws: MetricsError.invalidLabelName(family: "t_a", label: "bad-label")) {
            try registry.counter("t_a", help: "", labels: ["bad-label"])
        }
        #expect(throws: MetricsError.invalidLabelName(family: "t_b", label: "__reserved")) {
            try registry.gauge("t_b", help: "", labels: ["__reserved"])
        }
        #expect(throws: MetricsError.invalidLabelName(family: "t_c", label: "le")) {
            try registry.histogram("t_c", help: "", labels: ["le"], buckets: [1])
        }
        #expect(throws: MetricsError.invalidBuckets(family: "t_d")) { try registry.histogram("t_d", help: "", buckets: [1, 1]) }
        #expect(throws: MetricsError.invalidBuckets(family: "t_e")) { try registry.histogram("t_e", help: "", buckets: [.infinity]) }
        _ = try registry.counter("t_f", help: "", labels: ["x"])
        #expect(throws: MetricsError.duplicateFamily("t_f")) { try registry.gauge("t_f", help: "") }
        let family = try registry.counter("t_g", help: "", labels: ["x", "y"])
        #expect(throws: MetricsError.labelCountMismatch(family: "t_g", expected: 2, got: 1)) { try family.series(["1"]) }
        #expect(throws: MetricsError.axesMismatch(family: "t_g")) { try family.grid([LabelAxis("x", ["1"])]) }
        #expect(throws: MetricsError.axesMismatch(family: "t_g")) {
            try family.grid([LabelAxis("x", ["1"]), LabelAxis("x", ["2"])])
        }
    }

    @Test func gridPositionsFindTheirLabelValues() throws {
        let registry = MetricsRegistry()
        let family = try registry.counter("t_requests_total", help: "",
                                          labels: ["listener", "protocol", "decision", "reason"])
        let grid = try family.grid([
            LabelAxis("protocol", ["http/1.1", "h2"]),
            LabelAxis(["decision", "reason"], [["allowed", "ok"], ["denied", "network_denied"], ["denied", "token_missing"]]),
            LabelAxis("listener", ["a", "b"]),
        ])
        #expect(grid.shape == [2, 3, 2])
        #expect(grid.all.count == 12)
        let shard = registry.makeShard()
        shard.add(grid[1, 2, 0], 7)
        shard.add(grid[0, 1, 1], 3)
        let s = samples(registry)
        #expect(s["t_requests_total{listener=\"a\",protocol=\"h2\",decision=\"denied\",reason=\"token_missing\"}"] == "7")
        #expect(s["t_requests_total{listener=\"b\",protocol=\"http/1.1\",decision=\"denied\",reason=\"network_denied\"}"] == "3")
        #expect(s.count == 12)
    }

    @Test func seriesRegisteredAfterTheShardsExistGetCells() throws {
        let registry = MetricsRegistry()
        let shard = registry.makeShard()
        let family = try registry.counter("t_rule_hits_total", help: "", labels: ["rule"])
        // More than one chunk's worth, so the shard must grow while it is in use.
        var series: [Counter] = []
        for i in 0..<(MetricsShard.chunkSize * 2 + 5) {
            series.append(try family.series(["r\(i)"]))
            shard.increment(series[i])
        }
        let latency = try registry.histogram("t_latency_seconds", help: "", buckets: PortcullisMetrics.latencyBuckets).series()
        shard.observe(latency, 0.3)
        let late = registry.makeShard()
        late.add(series.last ?? series[0], 2)
        let s = samples(registry)
        #expect(s["t_rule_hits_total{rule=\"r0\"}"] == "1")
        #expect(s["t_rule_hits_total{rule=\"r\(series.count - 1)\"}"] == "3")
        #expect(s["t_latency_seconds_count"] == "1")
    }

    @Test func histogramBucketsAreCumulativeAndUpperBoundsInclusive() throws {
        let registry = MetricsRegistry()
        let histogram = try registry.histogram("t_duration_seconds", help: "Duration.", labels: ["route"],
                                               buckets: [0.001, 0.5, 10]).series(["x"])
        let a = registry.makeShard(), b = registry.makeShard()
        a.observe(histogram, 0.001)       // on the edge: le="0.001"
        a.observe(histogram, 0.0010001)   // just past it: le="0.5"
        b.observe(histogram, -1)          // below everything: the first bucket
        b.observe(histogram, 10)          // the last finite edge
        b.observe(histogram, 10.5)        // only +Inf
        a.observe(histogram, nanoseconds: 250_000_000)  // 0.25 s
        let s = samples(registry)
        #expect(s["t_duration_seconds_bucket{route=\"x\",le=\"0.001\"}"] == "2")
        #expect(s["t_duration_seconds_bucket{route=\"x\",le=\"0.5\"}"] == "4")
        #expect(s["t_duration_seconds_bucket{route=\"x\",le=\"10\"}"] == "5")
        #expect(s["t_duration_seconds_bucket{route=\"x\",le=\"+Inf\"}"] == "6")
        #expect(s["t_duration_seconds_count{route=\"x\"}"] == "6")
        let sum = try #require(s["t_duration_seconds_sum{route=\"x\"}"].flatMap({ Double($0) }))
        #expect(abs(sum - (0.001 + 0.0010001 - 1 + 10 + 10.5 + 0.25)) < 1e-9)
        let output = text(registry)
        #expect(output.contains("# TYPE t_duration_seconds histogram\n"))
        #expect(output.components(separatedBy: "# TYPE").count == 2)
    }

    @Test func labelValuesAndHelpAreEscaped() throws {
        let registry = MetricsRegistry()
        let family = try registry.counter("t_escaped_total", help: "Back\\slash and\nnewline \"kept\".", labels: ["issuer"])
        let shard = registry.makeShard()
        shard.increment(try family.series(["a\\b \"quoted\"\nnext"]))
        let output = text(registry)
        #expect(output.contains("# HELP t_escaped_total Back\\\\slash and\\nnewline \"kept\".\n"))
        #expect(output.contains("t_escaped_total{issuer=\"a\\\\b \\\"quoted\\\"\\nnext\"} 1\n"))
    }

    @Test func gaugesSumShardsAndComputedOnesAreCalledAtScrape() throws {
        let registry = MetricsRegistry()
        let open = try registry.gauge("t_connections", help: "", labels: ["listener"]).series(["l"])
        let a = registry.makeShard(), b = registry.makeShard()
        a.set(open, 3)
        b.add(open, 2)
        b.add(open, -0.5)
        try registry.computedGauge("t_cache_entries", help: "", labels: ["kind"]) {
            [Sample(["x"], 42), Sample(["wrong", "count"], 1), Sample(["y"], .infinity)]
        }
        try registry.computedCounter("t_cpu_seconds_total", help: "") { [Sample(1.5e-5)] }
        let s = samples(registry)
        #expect(s["t_connections{listener=\"l\"}"] == "4.5")
        #expect(s["t_cache_entries{kind=\"x\"}"] == "42")
        #expect(s["t_cache_entries{kind=\"y\"}"] == "+Inf")
        #expect(s.keys.filter { $0.hasPrefix("t_cache_entries") }.count == 2)
        #expect(s["t_cpu_seconds_total"] == "1.5e-05")
    }

    @Test func floatsAreWrittenTheWayPrometheusReadsThem() {
        #expect(ExpositionWriter.format(0) == "0")
        #expect(ExpositionWriter.format(-0.0) == "0")
        #expect(ExpositionWriter.format(10) == "10")
        #expect(ExpositionWriter.format(0.00025) == "0.00025")
        #expect(ExpositionWriter.format(2.5) == "2.5")
        #expect(ExpositionWriter.format(.nan) == "NaN")
        #expect(ExpositionWriter.format(-.infinity) == "-Inf")
        #expect(ExpositionWriter.format(1e20) == "1e+20")
    }

    @Test func processMetricsAreReadFromProc() throws {
        let metrics = try PortcullisMetrics(version: "9.9.9", tokenCacheEntries: { 17 })
        let s = samples(metrics.registry)
        #expect(s["portcullis_build_info{version=\"9.9.9\"}"] == "1")
        #expect(s["portcullis_token_cache_entries"] == "17")
        for name in ["process_resident_memory_bytes", "process_virtual_memory_bytes", "process_open_fds", "process_max_fds"] {
            let value = try #require(s[name].flatMap({ Double($0) }), "\(name) missing")
            #expect(value > 0, "\(name)")
        }
        let start = try #require(s["process_start_time_seconds"].flatMap({ Double($0) }))
        #expect(start > 1_600_000_000)
        #expect(s["process_cpu_seconds_total"] != nil)
    }
}
