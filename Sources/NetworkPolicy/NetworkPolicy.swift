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
        /// The rule's own prefixes (`cidrs`).
        public let cidrs: [CIDR]
        /// The named sets the rule uses (`ip_sets`) with their prefixes; nil prefixes: the set
        /// has not loaded, and the rule fails closed (see ``NetworkPolicy/init(_:sets:)``).
        public let ipSets: [(name: String, prefixes: [CIDR]?)]
        /// Lower-cased header name → accepted values (compared exactly, case-sensitively:
        /// values such as Front Door ids are opaque tokens).
        public let headers: [(name: String, values: [[UInt8]])]

        /// Whether the rule's addresses contain `address` (its headers aside), as the trie
        /// sees them: an unloaded set is nothing for an allow rule and everything for a deny rule.
        public func covers(_ address: IPAddress) -> Bool {
            cidrs.contains { $0.contains(address) } || ipSets.contains { set in
                set.prefixes.map { $0.contains { $0.contains(address) } } ?? !allow
            }
        }
    }

    /// `::/0`: every address, IPv4 (held IPv4-mapped) included.
    public static let everyAddress = CIDR(address: IPAddress(high: 0, low: 0), length: 0)

    /// Rules in decision order (priority, then file order): a rule's index is its rank.
    public let rules: [Rule]
    public let defaultAllows: Bool
    private let trie: PrefixTrie
    private let allowDecisions: [NetworkDecision]
    private let defaultDecision: NetworkDecision

    /// Compiles the `network` section with the prefixes of the IP sets loaded so far (name →
    /// prefixes); errors name the rule and the key.
    ///
    /// A set a rule names that is not in `sets` has not loaded, and the rule fails closed: an
    /// allow rule matches nothing through it, a deny rule matches every address (its header
    /// conditions, if any, still apply). The rule's own `cidrs` count either way.
    public init(_ settings: NetworkSettings, sets: [String: [CIDR]] = [:]) throws(ConfigError) {
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
            let allow = rule.action == .allow
            let ipSets = rule.ipSets.map { (name: $0.value, prefixes: sets[$0.value]) }
            // A prefix stored twice for one rank would only lengthen the trie's conditional lists.
            var inserted = Set<CIDR>()
            var prefixes = cidrs
            for set in ipSets {
                prefixes += set.prefixes ?? (allow ? [] : [Self.everyAddress])
            }
            for cidr in prefixes where inserted.insert(cidr).inserted {
                trie.insert(cidr, rank: Int32(rank), conditional: !rule.headers.isEmpty)
            }
            rules.append(Rule(name: rule.name, priority: rule.priority, allow: allow, cidrs: cidrs, ipSets: ipSets,
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
        for (rank, rule) in rules.enumerated() where rule.covers(address) {
            if rule.headers.isEmpty || Self.headersMatch(rule, headers) { return allowDecisions[rank] }
        }
        return defaultDecision
    }
}
