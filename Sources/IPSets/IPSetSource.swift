public import Config

/// One configured set as the loader needs it: the settings without their positions in the
/// file, so a reload that only moves a set's lines keeps its schedule and its prefixes.
public struct IPSetSource: Sendable, Equatable {
    public let name: String
    public let source: IPSetSettings.Source
    public let format: IPSetSettings.Format
    public let tag: String?
    public let refresh: Duration
    /// A PEM bundle trusted instead of the system's roots (`ca`).
    public let caFile: String?

    public init(_ settings: IPSetSettings) {
        name = settings.name
        source = settings.source
        format = settings.format
        tag = settings.tag
        refresh = settings.refresh
        caFile = settings.ca?.value
    }

    /// Whether `other` yields the same prefixes: the same document read the same way. A new
    /// refresh interval or CA changes how the set is kept fresh, not what it holds, so what
    /// was loaded stays in use.
    public func loadsSameSet(as other: IPSetSource) -> Bool {
        name == other.name && source == other.source && format == other.format && tag == other.tag
    }

    /// Where the document comes from, for the log and `portcullis check`.
    public var location: String {
        switch source {
        case .url(let url): url
        case .file(let path): "file \(path)"
        }
    }

    var refreshMillis: Int64 {
        let (seconds, attoseconds) = refresh.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
