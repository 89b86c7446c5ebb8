/// Logging (`log`): the access log is one JSON line per request on stdout.
public struct LogSettings: Sendable, Equatable {
    public enum Level: String, Sendable, CaseIterable {
        case debug, info, warning, error
    }

    public var level: Level = .info
    /// Write the per-request access log line.
    public var access: Bool = true
    /// The share of allowed requests that get a line (refusals always do).
    public var accessSample: Double = 1.0
    /// Keep the query string in the logged path (it may carry personal data; dropped by default).
    public var accessQuery: Bool = false

    public init() {}

    static func decode(_ node: ConfigNode) throws(ConfigError) -> LogSettings {
        var map = try node.mapping()
        var log = LogSettings()
        if let n = map.optional("level") {
            let text = try n.string()
            guard let level = Level(rawValue: text) else {
                throw n.error("'\(text)' is not a log level; use one of " + Level.allCases.map(\.rawValue).joined(separator: ", "))
            }
            log.level = level
        }
        if let n = map.optional("access") { log.access = try n.bool() }
        if let n = map.optional("access_sample") { log.accessSample = try n.fraction() }
        if let n = map.optional("access_query") { log.accessQuery = try n.bool() }
        try map.finish()
        return log
    }
}
