/// A metric declared or registered wrongly: a programming or setup mistake, found at startup or
/// on a reload, never on the request path.
public enum MetricsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    case invalidMetricName(String)
    /// Not `[a-zA-Z_][a-zA-Z0-9_]*`, starts with `__`, or is `le` on a histogram.
    case invalidLabelName(family: String, label: String)
    /// Two families may not share a name: the exposition would carry two `# TYPE` lines.
    case duplicateFamily(String)
    /// Histogram bounds must be finite, increasing and fewer than ``MetricsShard`` chunk cells.
    case invalidBuckets(family: String)
    /// A series gave a different number of label values than the family has labels.
    case labelCountMismatch(family: String, expected: Int, got: Int)
    /// A grid's axes do not cover the family's labels exactly once each.
    case axesMismatch(family: String)
    /// Every shard has room for a fixed number of cells; this registration would pass it.
    case capacityExceeded(family: String)

    public var description: String {
        switch self {
        case .invalidMetricName(let name): "'\(name)' is not a valid metric name"
        case .invalidLabelName(let family, let label): "\(family): '\(label)' is not a valid label name"
        case .duplicateFamily(let name): "metric family '\(name)' is declared twice"
        case .invalidBuckets(let family): "\(family): bucket bounds must be finite, strictly increasing and at most 500"
        case .labelCountMismatch(let family, let expected, let got): "\(family): \(got) label values for \(expected) labels"
        case .axesMismatch(let family): "\(family): the grid's axes must name every label of the family exactly once"
        case .capacityExceeded(let family): "\(family): the registry has no room for more series"
        }
    }
}
