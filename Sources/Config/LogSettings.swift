/// Logging (`log`): the access log is one JSON line per request on stdout.
public struct LogSettings: Sendable, Equatable {
    public enum Level: String, Sendable, CaseIterable {
        case debug, info, warning, error
    }

    public var level: Level = .info
    /// Write the per-request access log line.
    public var access: Bool = true

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
        try map.finish()
        return log
    }
}
