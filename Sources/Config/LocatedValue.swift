/// A string from the file with the key path and line it came from, for values that a layer
/// validates later (CIDRs are parsed by NetworkPolicy) and must still report by key.
public struct LocatedValue: Sendable, Equatable {
    public let value: String
    public let key: String
    public let line: Int?

    public init(value: String, key: String, line: Int?) {
        self.value = value
        self.key = key
        self.line = line
    }

    public func error(_ reason: String) -> ConfigError {
        ConfigError(key: key, line: line, reason: reason)
    }
}

extension ConfigNode {
    func locatedList() throws(ConfigError) -> [LocatedValue] {
        var result: [LocatedValue] = []
        for element in try sequence() {
            result.append(LocatedValue(value: try element.string(), key: element.path, line: element.line))
        }
        return result
    }
}
