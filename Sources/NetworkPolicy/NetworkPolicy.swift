public import Config

/// What the network rules say about one client address.
public struct NetworkDecision: Sendable, Equatable {
    public let allowed: Bool
    /// The rule that decided, or "default" when none matched.
    public let rule: String
    /// The rule's priority; nil for the default.
    public let priority: Int?
}

/// The compiled network rules: immutable, shared by all workers, looked up without locks or
/// allocation.
public final class NetworkPolicy: Sendable {
    public struct Rule: Sendable {
        public let name: String
        public let priority: Int
        public let allow: Bool
        public let cidrs: [CIDR]
        /// Lower-cased header name → accepted values (compared exactly, case-sensitively:
        /// values such as Front Door ids are opaque tokens).
        public let headers: [(name: String, values: [[UInt8]])]
    }

    /// Rules in decision order (priority, then file order): a rule's index is its rank.
    public let rules: [Rule]
    public let defaultAllows: Bool
    private let trie: PrefixTrie
    private let allowDecisions: [NetworkDecision]
    private let defaultDecision: NetworkDecision

    /// Compiles the `network` section; errors name the rule and the key.
    public init(_ settings: NetworkSettings) throws(ConfigError) {
        let ordered = settings.rules.enumerated().sorted {
            $0.element.priority != $1.element.priority ? $0.element.priority < $1.element.priority : $0.offset < $1.offset
        }.map(\.element)
        var rules: [Rule] = []
        var trie = PrefixTrie()
        for (rank, rule) in ordered.enumerated() {
            var cidrs: [CIDR] = []
            for located in rule.cidrs {
                switch CIDR.parse(located.value) {
                case .success(let cidr): cidrs.append(cidr)
                case .failure(.unparsable):
                    throw located.error("rule '\(rule.name)': '\(located.value)' is not a CIDR; write e.g. 10.1.2.0/27 or 2001:db8::/48")
                case .failure(.prefixOutOfRange(let max)):
                    throw located.error("rule '\(rule.name)': the prefix length in '\(located.value)' is out of range 0-\(max)")
                case .failure(.hostBitsSet(let suggestion)):
                    throw located.error("rule '\(rule.name)': host bits set in \(located.value); did you mean \(suggestion)?")
                }
            }
            for cidr in cidrs { trie.insert(cidr, rank: Int32(rank), conditional: !rule.headers.isEmpty) }
            rules.append(Rule(name: rule.name, priority: rule.priority, allow: rule.action == .allow, cidrs: cidrs,
                              headers: rule.headers.map { ($0.name, $0.values.map { Array($0.utf8) }) }))
        }
        trie.finish()
        self.rules = rules
        self.trie = trie
        defaultAllows = settings.defaultAction == .allow
        allowDecisions = rules.map { NetworkDecision(allowed: $0.allow, rule: $0.name, priority: $0.priority) }
        defaultDecision = NetworkDecision(allowed: defaultAllows, rule: "default", priority: nil)
    }

    /// The decision for `address`; `headers` is consulted only for header-filtered rules whose
    /// prefix matched and that would beat the best rule found so far.
    @inline(__always)
    public func decide<H: HeaderSource>(_ address: IPAddress, headers: H) -> NetworkDecision {
        let rank = trie.lookup(address) { rank in
            Self.headersMatch(rules[Int(rank)], headers)
        }
        return rank == .max ? defaultDecision : allowDecisions[Int(rank)]
    }

    static func headersMatch<H: HeaderSource>(_ rule: Rule, _ headers: H) -> Bool {
        for condition in rule.headers {
            var matched = false
            headers.forEachValue(named: condition.name) { value in
                for accepted in condition.values where accepted.elementsEqual(value) {
                    matched = true
                    return false
                }
                return true
            }
            if !matched { return false }
        }
        return true
    }

    /// The same answer by scanning every rule: the reference the trie is tested against, and
    /// the explanation `portcullis check --ip` prints.
    public func decideByScan<H: HeaderSource>(_ address: IPAddress, headers: H) -> NetworkDecision {
        for (rank, rule) in rules.enumerated() where rule.cidrs.contains(where: { $0.contains(address) }) {
            if rule.headers.isEmpty || Self.headersMatch(rule, headers) { return allowDecisions[rank] }
        }
        return defaultDecision
    }
}
