/// One value of a family computed at scrape time (see ``MetricsRegistry/computedGauge(_:help:labels:sample:)``).
public struct Sample: Sendable, Equatable {
    /// One value per label of the family, in the family's label order.
    public var labelValues: [String]
    public var value: Double

    public init(_ labelValues: [String], _ value: Double) {
        self.labelValues = labelValues
        self.value = value
    }

    /// The sample of a family without labels.
    public init(_ value: Double) {
        self.init([], value)
    }
}
