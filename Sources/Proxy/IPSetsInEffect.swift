import Metrics
import Synchronization

/// The network rules in effect, for the scrape thread's IP-set gauges.
final class IPSetsInEffect: Sendable {
    private let rules: Mutex<NetworkRules?>
    init(_ rules: NetworkRules?) { self.rules = Mutex(rules) }
    var current: NetworkRules? {
        get { rules.withLock { $0 } }
        set { rules.withLock { $0 = newValue } }
    }

    var samples: [PortcullisMetrics.IPSetSample] {
        (current?.sets ?? []).map { ($0.source.name, $0.loaded?.prefixes.count ?? 0, $0.loaded?.loadedAt) }
    }
}
