/// Series of one family registered for every point of a few ``LabelAxis``es, found on the request
/// path by integer positions (an enum's raw value, a listener's index): no hashing, no strings,
/// no allocation.
///
/// ```swift
/// let requests = try metrics.requests.grid([
///     LabelAxis("listener", listenerNames),
///     LabelAxis("protocol", ["http/1.1", "h2"]),
///     LabelAxis(["decision", "reason"], reasons.map { [$0.decision, $0.code] }),
/// ])
/// shard.increment(requests[listenerIndex, protocolIndex, reason.rawValue])
/// ```
///
/// Use the subscript with as many positions as the grid has axes.
public struct SeriesGrid<Series: MetricSeries>: Sendable {
    /// The number of positions on each axis, in the order the axes were given.
    public let shape: [Int]
    private let series: [Series]
    // Axis lengths after the first, 1 where the grid has fewer axes.
    private let n1: Int, n2: Int, n3: Int

    init(shape: [Int], series: [Series]) {
        self.shape = shape
        self.series = series
        n1 = shape.count > 1 ? shape[1] : 1
        n2 = shape.count > 2 ? shape[2] : 1
        n3 = shape.count > 3 ? shape[3] : 1
    }

    /// Every series in row-major order (the last axis varies fastest).
    public var all: [Series] { series }

    public subscript(_ a: Int) -> Series {
        precondition(shape.count == 1, "a \(shape.count)-axis grid indexed with 1 position")
        return series[a]
    }

    public subscript(_ a: Int, _ b: Int) -> Series {
        precondition(shape.count == 2 && b >= 0 && b < n1, "grid position out of range")
        return series[a * n1 + b]
    }

    public subscript(_ a: Int, _ b: Int, _ c: Int) -> Series {
        precondition(shape.count == 3 && b >= 0 && b < n1 && c >= 0 && c < n2, "grid position out of range")
        return series[(a * n1 + b) * n2 + c]
    }

    public subscript(_ a: Int, _ b: Int, _ c: Int, _ d: Int) -> Series {
        precondition(shape.count == 4 && b >= 0 && b < n1 && c >= 0 && c < n2 && d >= 0 && d < n3,
                     "grid position out of range")
        return series[((a * n1 + b) * n2 + c) * n3 + d]
    }
}
