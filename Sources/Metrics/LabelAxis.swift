/// One axis of a ``SeriesGrid``: the values one label (or a few labels that go together) takes.
///
/// An axis over several labels lists tuples rather than every combination, so labels that depend
/// on each other (a `decision` and the `reason` that implies it) make no impossible series.
public struct LabelAxis: Sendable {
    /// The label names this axis sets, in the order of each tuple's values.
    public let labels: [String]
    /// One entry per position on the axis; each has one value per label.
    public let tuples: [[String]]

    /// An axis over one label, e.g. `LabelAxis("protocol", ["http/1.1", "h2"])`.
    public init(_ label: String, _ values: [String]) {
        labels = [label]
        tuples = values.map { [$0] }
    }

    /// An axis over labels that go together, e.g.
    /// `LabelAxis(["decision", "reason"], [["allowed", "ok"], ["denied", "network_denied"]])`.
    public init(_ labels: [String], _ tuples: [[String]]) {
        self.labels = labels
        self.tuples = tuples
    }
}
