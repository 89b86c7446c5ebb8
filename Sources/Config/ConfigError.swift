/// A configuration file that cannot be used, with the key that is wrong and why.
///
/// The text is written for the person who edits the file: it names the key as a dotted path
/// (`network.rules[2].cidrs[0]`), the line where the YAML parser saw it, and what would be accepted.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Dotted path of the offending key, e.g. `upstream.connect_timeout`; empty for the whole file.
    public let key: String
    /// 1-based line in the YAML file, where the parser knows it.
    public let line: Int?
    /// What is wrong, for a person.
    public let reason: String

    public init(key: String, line: Int?, reason: String) {
        self.key = key
        self.line = line
        self.reason = reason
    }

    public var description: String {
        var text = "config error"
        if !key.isEmpty { text += " at '\(key)'" }
        if let line { text += " (line \(line))" }
        return text + ": " + reason
    }
}
