public import NetworkPolicy

/// A set as last loaded: its prefixes, when, and what the document said of its version.
public struct LoadedIPSet: Sendable {
    public let name: String
    public let prefixes: [CIDR]
    /// Wall-clock seconds of the load (the metrics' last success).
    public let loadedAt: Double
    /// The document's own version for the log (`changeNumber 42`); empty when it has none.
    public let version: String

    public init(name: String, prefixes: [CIDR], loadedAt: Double, version: String = "") {
        self.name = name
        self.prefixes = prefixes
        self.loadedAt = loadedAt
        self.version = version
    }
}
