/// One series of a histogram family; record with ``MetricsShard/observe(_:_:)``.
///
/// It carries the family's bucket bounds so that observing needs nothing but the shard.
public struct Histogram: MetricSeries {
    let cell: UInt32
    let bounds: [Double]

    public init(_ slot: SeriesSlot) {
        cell = slot.cell
        bounds = slot.bounds
    }
}
