/// A declared metric family (name, help, label names) whose series are registered up front.
///
/// Registering resolves a set of label values to a handle once, at setup or on a reload; the
/// request path then uses only the handle. Registering the same values again returns the same
/// handle, so a reload may simply register everything its new config needs.
public struct MetricFamily<Series: MetricSeries>: Sendable {
    let registry: MetricsRegistry
    let id: Int
    public let name: String
    public let labels: [String]

    /// The series for `labelValues` (one per label, in the family's label order), registering
    /// it if new. A registered series is rendered from then on, at zero until something counts.
    public func series(_ labelValues: [String] = []) throws(MetricsError) -> Series {
        Series(try registry.register(family: id, labelValues: labelValues))
    }

    /// Registers a series for every point of `axes` (see ``SeriesGrid``). The axes together must
    /// name each of the family's labels exactly once, in any order; at most four axes.
    public func grid(_ axes: [LabelAxis]) throws(MetricsError) -> SeriesGrid<Series> {
        let named = axes.flatMap(\.labels)
        guard axes.count <= 4, named.count == labels.count, Set(named) == Set(labels),
              axes.allSatisfy({ axis in axis.tuples.allSatisfy { $0.count == axis.labels.count } })
        else { throw .axesMismatch(family: name) }
        // Where each axis' values go in the family's label order.
        let positions = axes.map { axis in axis.labels.compactMap { labels.firstIndex(of: $0) } }
        let shape = axes.map(\.tuples.count)
        var result: [Series] = []
        var point = [Int](repeating: 0, count: axes.count)
        let total = shape.reduce(1, *)
        result.reserveCapacity(total)
        for _ in 0..<total {
            var values = [String](repeating: "", count: labels.count)
            for (axis, position) in point.enumerated() {
                for (k, label) in positions[axis].enumerated() { values[label] = axes[axis].tuples[position][k] }
            }
            result.append(try series(values))
            // Row-major: the last axis moves fastest.
            var axis = axes.count - 1
            while axis >= 0 {
                point[axis] += 1
                if point[axis] < shape[axis] { break }
                point[axis] = 0
                axis -= 1
            }
        }
        return SeriesGrid(shape: shape, series: result)
    }
}

/// A family of counters, one cell per series in every shard.
public typealias CounterFamily = MetricFamily<Counter>
/// A family of gauges that every shard sets its part of; rendered as the sum.
public typealias GaugeFamily = MetricFamily<Gauge>
/// A family of histograms with the same bucket bounds.
public typealias HistogramFamily = MetricFamily<Histogram>
