import Synchronization

/// All metric families of a process, the shards their values live in, and the exposition.
///
/// Set-up happens off the request path: declare families, register their series (to handles),
/// and give every worker its own shard:
///
/// ```swift
/// let registry = MetricsRegistry()
/// let hits = try registry.counter("portcullis_network_rule_hits_total",
///                                 help: "Requests decided by each network rule.", labels: ["rule"])
/// let office = try hits.series(["office"])
/// let shard = registry.makeShard()         // one per worker, written by that worker only
/// shard.increment(office)                  // on the request path
/// let text = registry.render()             // on the admin thread, at scrape time
/// ```
///
/// Everything here is safe from any thread; the registry's lock is taken only by declaration,
/// registration, ``makeShard()`` and the first step of ``render()``, never by a shard update.
/// Shards live as long as the registry, so a counter never goes backwards.
public final class MetricsRegistry: Sendable {
    /// The `Content-Type` of ``render()``'s output (Prometheus text format 0.0.4).
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    enum Kind: Sendable {
        case counter
        case gauge
        case histogram(bounds: [Double])
        case computed(type: String, sample: @Sendable () -> [Sample])
    }

    struct Series: Sendable {
        let labelValues: [String]
        let cell: UInt32
    }

    struct Family: Sendable {
        let name: String
        let help: String
        let labels: [String]
        let kind: Kind
        var series: [Series] = []
        var byValues: [[String]: Int] = [:]

        /// Cells one series takes in every shard.
        var width: Int {
            switch kind {
            case .counter, .gauge: 1
            // Every bucket, the +Inf bucket and the sum; the count is the +Inf bucket's total.
            case .histogram(let bounds): bounds.count + 2
            case .computed: 0
            }
        }
    }

    struct State: Sendable {
        var families: [Family] = []
        var names: Set<String> = []
        var cellCount = 0
        var shards: [MetricsShard] = []
    }

    let state = Mutex(State())

    public init() {}

    // MARK: Declaring families

    /// Declares a counter family; its series are registered with ``MetricFamily/series(_:)``.
    public func counter(_ name: String, help: String, labels: [String] = []) throws(MetricsError) -> CounterFamily {
        try declare(name, help: help, labels: labels, kind: .counter)
    }

    /// Declares a gauge family whose series every shard sets its own part of (rendered summed).
    public func gauge(_ name: String, help: String, labels: [String] = []) throws(MetricsError) -> GaugeFamily {
        try declare(name, help: help, labels: labels, kind: .gauge)
    }

    /// Declares a histogram family; `buckets` are the finite upper bounds, strictly increasing
    /// (the `+Inf` bucket is implied).
    public func histogram(_ name: String, help: String, labels: [String] = [],
                          buckets: [Double]) throws(MetricsError) -> HistogramFamily {
        guard !buckets.isEmpty, buckets.count <= 500, buckets.allSatisfy(\.isFinite),
              zip(buckets, buckets.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw .invalidBuckets(family: name)
        }
        guard !labels.contains("le") else { throw .invalidLabelName(family: name, label: "le") }
        return try declare(name, help: help, labels: labels, kind: .histogram(bounds: buckets))
    }

    /// Declares a gauge family whose samples `sample` computes at every scrape, on the scraping
    /// thread (for values owned elsewhere: a shared cache's size, a file's age). `sample` must be
    /// quick; it runs without the registry's lock. A sample with the wrong number of label
    /// values is left out of the exposition.
    public func computedGauge(_ name: String, help: String, labels: [String] = [],
                              sample: @escaping @Sendable () -> [Sample]) throws(MetricsError) {
        let _: GaugeFamily = try declare(name, help: help, labels: labels, kind: .computed(type: "gauge", sample: sample))
    }

    /// Declares a counter family computed at every scrape, like ``computedGauge(_:help:labels:sample:)``
    /// (for a total kept elsewhere, such as the CPU time the kernel counts).
    public func computedCounter(_ name: String, help: String, labels: [String] = [],
                                sample: @escaping @Sendable () -> [Sample]) throws(MetricsError) {
        let _: CounterFamily = try declare(name, help: help, labels: labels, kind: .computed(type: "counter", sample: sample))
    }

    private func declare<S>(_ name: String, help: String, labels: [String], kind: Kind) throws(MetricsError) -> MetricFamily<S> {
        guard Self.isValidName(name, colons: true) else { throw .invalidMetricName(name) }
        for label in labels where !Self.isValidName(label, colons: false) || label.hasPrefix("__") {
            throw .invalidLabelName(family: name, label: label)
        }
        guard Set(labels).count == labels.count else {
            throw .invalidLabelName(family: name, label: labels.first { l in labels.filter { $0 == l }.count > 1 } ?? "")
        }
        let id = try state.withLock { state throws(MetricsError) -> Int in
            guard state.names.insert(name).inserted else { throw .duplicateFamily(name) }
            state.families.append(Family(name: name, help: help, labels: labels, kind: kind))
            return state.families.count - 1
        }
        return MetricFamily(registry: self, id: id, name: name, labels: labels)
    }

    static func isValidName(_ name: String, colons: Bool) -> Bool {
        var first = true
        for byte in name.utf8 {
            let letter = (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z") || byte == UInt8(ascii: "_")
                || (colons && byte == UInt8(ascii: ":"))
            let digit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            guard letter || (digit && !first) else { return false }
            first = false
        }
        return !first
    }

    // MARK: Series and shards

    /// Finds or adds the series of `family` with these label values; new cells are added to
    /// every shard before the handle is returned.
    func register(family id: Int, labelValues: [String]) throws(MetricsError) -> SeriesSlot {
        try state.withLock { state throws(MetricsError) -> SeriesSlot in
            let family = state.families[id]
            guard labelValues.count == family.labels.count else {
                throw .labelCountMismatch(family: family.name, expected: family.labels.count, got: labelValues.count)
            }
            var bounds: [Double] = []
            if case .histogram(let b) = family.kind { bounds = b }
            if let existing = family.byValues[labelValues] {
                return SeriesSlot(cell: family.series[existing].cell, bounds: bounds)
            }
            // A series' cells never straddle two chunks, so a histogram is one base pointer.
            var start = state.cellCount
            let width = family.width
            if (start & (MetricsShard.chunkSize - 1)) + width > MetricsShard.chunkSize {
                start = (start | (MetricsShard.chunkSize - 1)) + 1
            }
            guard start + width <= MetricsShard.capacity else { throw .capacityExceeded(family: family.name) }
            state.cellCount = start + width
            for shard in state.shards { shard.ensureCells(state.cellCount) }
            let cell = UInt32(start)
            state.families[id].byValues[labelValues] = family.series.count
            state.families[id].series.append(Series(labelValues: labelValues, cell: cell))
            return SeriesSlot(cell: cell, bounds: bounds)
        }
    }

    /// A new shard with cells for every series registered so far and any registered later.
    /// Give one to each thread that writes metrics (every worker, and one per background thread
    /// such as the key fetcher or the reloader); never write one shard from two threads.
    public func makeShard() -> MetricsShard {
        let shard = MetricsShard()
        state.withLock { state in
            shard.ensureCells(state.cellCount)
            state.shards.append(shard)
        }
        return shard
    }
}
