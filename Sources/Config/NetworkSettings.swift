/// Network rules (`network`). Absent section: no network rule applies. Present: an address that
/// no rule matches gets `default_action`, which defaults to deny.
public struct NetworkSettings: Sendable, Equatable {
    public enum Action: String, Sendable, CaseIterable {
        case allow, deny
    }

    public struct Rule: Sendable, Equatable {
        public var name: String
        /// Lowest number wins; ties go to the rule listed first.
        public var priority: Int
        public var action: Action
        public var cidrs: [LocatedValue]
        /// The rule matches only if every listed header (lower-cased name) has one of the values.
        public var headers: [HeaderCondition]
        /// Where the rule is in the file, for errors.
        public var key: String
        public var line: Int?

        public init(name: String, priority: Int, action: Action, cidrs: [LocatedValue],
                    headers: [HeaderCondition] = [], key: String, line: Int? = nil) {
            self.name = name
            self.priority = priority
            self.action = action
            self.cidrs = cidrs
            self.headers = headers
            self.key = key
            self.line = line
        }
    }

    public struct HeaderCondition: Sendable, Equatable {
        public var name: String
        public var values: [String]

        public init(name: String, values: [String]) {
            self.name = name
            self.values = values
        }
    }

    public var defaultAction: Action = .deny
    public var rules: [Rule] = []
    public var mode: EnforcementMode = .enforce

    public init() {}

    static func decode(_ node: ConfigNode) throws(ConfigError) -> NetworkSettings {
        var map = try node.mapping()
        var settings = NetworkSettings()
        if let n = map.optional("default_action") { settings.defaultAction = try n.choice() }
        if let n = map.optional("mode") { settings.mode = try n.choice() }
        var names: Set<String> = []
        if let n = map.optional("rules") {
            for element in try n.sequence() {
                var rule = try element.mapping()
                let nameNode = try rule.required("name")
                let name = try nameNode.string()
                guard !name.isEmpty else { throw nameNode.error("a rule needs a name (it is what the access log prints)") }
                guard names.insert(name).inserted else { throw nameNode.error("rule name '\(name)' is used twice; names identify rules in the log") }
                let priority = try rule.required("priority").int(in: 0...1_000_000)
                let actionNode = try rule.required("action")
                let action: Action
                do {
                    action = try actionNode.choice()
                } catch {
                    throw ConfigError(key: error.key, line: error.line, reason: "rule '\(name)': \(error.reason)")
                }
                let cidrNode = try rule.required("cidrs")
                let cidrs = try cidrNode.locatedList()
                guard !cidrs.isEmpty else { throw cidrNode.error("rule '\(name)' lists no CIDRs") }
                var headers: [HeaderCondition] = []
                if let h = rule.optional("headers") {
                    var headerMap = try h.mapping()
                    for key in headerMap.keys {
                        let valuesNode = try headerMap.required(key)
                        guard isToken(key) else { throw valuesNode.error("'\(key)' is not a valid header name") }
                        let values = try valuesNode.stringList()
                        guard !values.isEmpty else { throw valuesNode.error("rule '\(name)': list at least one value for header '\(key)'") }
                        headers.append(HeaderCondition(name: key.lowercased(), values: values))
                    }
                    try headerMap.finish()
                }
                try rule.finish()
                settings.rules.append(Rule(name: name, priority: priority, action: action, cidrs: cidrs,
                                           headers: headers, key: element.path, line: element.line))
            }
        }
        try map.finish()
        return settings
    }
}
