/// A handle to one registered series (one set of label values) of a family: what a worker keeps
/// and hands to its ``MetricsShard`` on the request path. Handles are small values made by the
/// registry; they stay valid for the registry's lifetime and mean the same cells in every shard.
public protocol MetricSeries: Sendable {
    /// Made by the registry only; ``SeriesSlot`` has no public initialiser.
    init(_ slot: SeriesSlot)
}

/// Where a newly registered series lives; handed to a ``MetricSeries`` initialiser.
public struct SeriesSlot: Sendable {
    let cell: UInt32
    let bounds: [Double]
}
