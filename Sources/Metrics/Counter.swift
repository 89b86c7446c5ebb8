/// One series of a counter family; add to it with ``MetricsShard/increment(_:)``.
public struct Counter: MetricSeries, Hashable {
    let cell: UInt32

    public init(_ slot: SeriesSlot) {
        cell = slot.cell
    }
}
