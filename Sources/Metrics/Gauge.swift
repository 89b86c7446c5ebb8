/// One series of a per-shard gauge family; set it with ``MetricsShard/set(_:_:)``. The
/// exposition shows the sum over all shards (connections open on each worker add up).
public struct Gauge: MetricSeries, Hashable {
    let cell: UInt32

    public init(_ slot: SeriesSlot) {
        cell = slot.cell
    }
}
