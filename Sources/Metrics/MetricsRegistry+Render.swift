extension MetricsRegistry {
    /// The whole exposition in Prometheus text format 0.0.4 (``contentType``): every family in
    /// the order declared, `# HELP` and `# TYPE` once each, every registered series (zero ones
    /// too) summed over all shards, histograms as cumulative `_bucket{le=...}` lines ending in
    /// `le="+Inf"`, then `_sum` and `_count`.
    ///
    /// Safe from any thread at any time; it reads shards while their workers write them, so a
    /// scrape is a moment's picture, not a transaction. Computed families call their closures here.
    public func render() -> [UInt8] {
        // Copy what to read under the lock, then read cells and call closures without it.
        let (families, shards) = state.withLock { ($0.families, $0.shards) }
        var out = ExpositionWriter()
        for family in families {
            switch family.kind {
            case .counter:
                out.header(name: family.name, help: family.help, type: "counter")
                for series in family.series {
                    out.sample(family.name, labels: family.labels, values: series.labelValues,
                               value: String(Self.count(series.cell, shards)))
                }
            case .gauge:
                out.header(name: family.name, help: family.help, type: "gauge")
                for series in family.series {
                    out.sample(family.name, labels: family.labels, values: series.labelValues,
                               value: ExpositionWriter.format(Self.sum(series.cell, shards)))
                }
            case .histogram(let bounds):
                out.header(name: family.name, help: family.help, type: "histogram")
                for series in family.series {
                    var cumulative: UInt64 = 0
                    for (i, bound) in bounds.enumerated() {
                        cumulative &+= Self.count(series.cell + UInt32(i), shards)
                        out.sample(family.name, suffix: "_bucket", labels: family.labels, values: series.labelValues,
                                   extra: ("le", ExpositionWriter.format(bound)), value: String(cumulative))
                    }
                    cumulative &+= Self.count(series.cell + UInt32(bounds.count), shards)
                    out.sample(family.name, suffix: "_bucket", labels: family.labels, values: series.labelValues,
                               extra: ("le", "+Inf"), value: String(cumulative))
                    let sum = Self.sum(series.cell + UInt32(bounds.count + 1), shards)
                    out.sample(family.name, suffix: "_sum", labels: family.labels, values: series.labelValues,
                               value: ExpositionWriter.format(sum))
                    out.sample(family.name, suffix: "_count", labels: family.labels, values: series.labelValues,
                               value: String(cumulative))
                }
            case .computed(let type, let sample):
                out.header(name: family.name, help: family.help, type: type)
                for point in sample() where point.labelValues.count == family.labels.count {
                    out.sample(family.name, labels: family.labels, values: point.labelValues,
                               value: ExpositionWriter.format(point.value))
                }
            }
        }
        return out.bytes
    }

    private static func count(_ cell: UInt32, _ shards: [MetricsShard]) -> UInt64 {
        shards.reduce(0) { $0 &+ $1.load(cell) }
    }

    private static func sum(_ cell: UInt32, _ shards: [MetricsShard]) -> Double {
        shards.reduce(0) { $0 + Double(bitPattern: $1.load(cell)) }
    }
}
