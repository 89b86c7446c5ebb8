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
        /// Names of `ip_sets` whose prefixes the rule matches as well as its `cidrs`; each is
        /// checked against the configured sets when the file is read.
        public var ipSets: [LocatedValue]
        /// The rule matches only if every listed header (lower-cased name) has one of the values.
        public var headers: [HeaderCondition]
        /// Where the rule is in the file, for errors.
        public var key: String
        public var line: Int?

        public init(name: String, priority: Int, action: Action, cidrs: [LocatedValue], ipSets: [LocatedValue] = [],
                    headers: [HeaderCondition] = [], key: String, line: Int? = nil) {
            self.name = name
            self.priority = priority
            self.action = action
            self.cidrs = cidrs
            self.ipSets = ipSets
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
                // cidrs, ip_sets or both; a list that is there must hold something.
                var cidrs: [LocatedValue] = []
                if let cidrNode = rule.optional("cidrs") {
                    cidrs = try cidrNode.locatedList()
                    guard !cidrs.isEmpty else { throw cidrNode.error("rule '\(name)' lists no CIDRs") }
                }
                var ipSets: [LocatedValue] = []
                if let setsNode = rule.optional("ip_sets") {
                    ipSets = try setsNode.locatedList()
                    guard !ipSets.isEmpty else { throw setsNode.error("rule '\(name)' lists no ip sets") }
                    for (index, set) in ipSets.enumerated() where ipSets[..<index].contains(where: { $0.value == set.value }) {
                        throw set.error("rule '\(name)' names ip set '\(set.value)' twice")
                    }
                }
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
                // After finish, so a misspelt `cidr` is named as such rather than as missing.
                try rule.finish()
                guard !cidrs.isEmpty || !ipSets.isEmpty else {
                    throw element.error("rule '\(name)' needs cidrs, ip_sets or both: the addresses it is about")
                }
                settings.rules.append(Rule(name: name, priority: priority, action: action, cidrs: cidrs, ipSets: ipSets,
                                           headers: headers, key: element.path, line: element.line))
            }
        }
        try map.finish()
        return settings
    }
}
