import Config
import IPSets
import NetworkPolicy
import Synchronization

/// The network section of one configuration, compiled with the IP sets loaded so far.
///
/// Each load (on the loader's thread, or a reload's) compiles a new immutable ``NetworkPolicy``
/// here, off the loops; the server hands it to every worker, which swaps it in between two
/// events. Readiness follows the sets once the configuration is in effect: not ready while any
/// has not loaded.
final class NetworkRules: Sendable {
    /// One configured set: what it is, what it last loaded, and why its last load failed.
    struct SetState: Sendable {
        let source: IPSetSource
        var loaded: LoadedIPSet?
        var lastFailure: String?
    }

    struct State: Sendable {
        var sets: [SetState]
        var policy: NetworkPolicy
    }

    let settings: NetworkSettings
    let readiness: Readiness
    private let state: Mutex<State>

    /// Sets whose source is unchanged from `previous` keep what they loaded (a reload opens no
    /// fail-closed window and fetches nothing for them); the others are given to `load`, if
    /// any, after the rules compiled (a config error costs no fetch).
    init(_ settings: NetworkSettings, sets: [IPSetSettings], previous: NetworkRules?, readiness: Readiness,
         load: ((IPSetSource) -> Result<LoadedIPSet, IPSetError>)?) throws(ConfigError) {
        let kept = previous?.sets ?? []
        var states = sets.map { set in
            let source = IPSetSource(set)
            return SetState(source: source, loaded: kept.first { $0.source.loadsSameSet(as: source) }?.loaded)
        }
        var policy = try NetworkPolicy(settings, sets: Self.prefixes(states))
        if let load {
            var loadedAny = false
            for index in states.indices where states[index].loaded == nil {
                switch load(states[index].source) {
                case .success(let set):
                    states[index].loaded = set
                    loadedAny = true
                case .failure(let error):
                    states[index].lastFailure = error.description
                }
            }
            if loadedAny { policy = try NetworkPolicy(settings, sets: Self.prefixes(states)) }
        }
        self.settings = settings
        self.readiness = readiness
        state = Mutex(State(sets: states, policy: policy))
    }

    /// The rules as compiled with the sets loaded so far.
    var policy: NetworkPolicy { state.withLock { $0.policy } }

    var sets: [SetState] { state.withLock { $0.sets } }

    /// The sets with nothing loaded, each with its last failure: what readiness reports.
    var unloaded: [(name: String, failure: String?)] { state.withLock { Self.unloaded($0.sets) } }

    /// Takes a set the loader brought. Returns the recompiled policy for the workers; nil when
    /// the set is not one of this configuration's (a reload changed it meanwhile) or its
    /// prefixes are the ones in use already (only its time is updated).
    func loaded(_ set: LoadedIPSet, from source: IPSetSource) -> NetworkPolicy? {
        let (compiled, unloaded) = state.withLock { state -> (NetworkPolicy?, [(name: String, failure: String?)]) in
            guard let index = state.sets.firstIndex(where: { $0.source.loadsSameSet(as: source) }) else { return (nil, Self.unloaded(state.sets)) }
            let unchanged = state.sets[index].loaded?.prefixes == set.prefixes
            state.sets[index].loaded = set
            state.sets[index].lastFailure = nil
            guard !unchanged else { return (nil, Self.unloaded(state.sets)) }
            // The rules compiled once already: they cannot fail now. Were they to, the policy in
            // effect stays rather than one without the rules.
            guard let policy = try? NetworkPolicy(settings, sets: Self.prefixes(state.sets)) else { return (nil, Self.unloaded(state.sets)) }
            state.policy = policy
            return (policy, Self.unloaded(state.sets))
        }
        readiness.setUnloadedIPSets(unloaded)
        return compiled
    }

    /// A load failed: the set keeps what it had; the reason shows in readiness while it has nothing.
    func failed(_ source: IPSetSource, reason: String) {
        let unloaded = state.withLock { state in
            if let index = state.sets.firstIndex(where: { $0.source.loadsSameSet(as: source) }) { state.sets[index].lastFailure = reason }
            return Self.unloaded(state.sets)
        }
        readiness.setUnloadedIPSets(unloaded)
    }

    private static func prefixes(_ sets: [SetState]) -> [String: [CIDR]] {
        var prefixes: [String: [CIDR]] = [:]
        for set in sets { if let loaded = set.loaded { prefixes[set.source.name] = loaded.prefixes } }
        return prefixes
    }

    private static func unloaded(_ sets: [SetState]) -> [(name: String, failure: String?)] {
        sets.filter { $0.loaded == nil }.map { ($0.source.name, $0.lastFailure) }
    }
}
