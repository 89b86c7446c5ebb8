import HTTP1
import Synchronization

/// Whether the proxy can judge requests yet: false until every issuer's first key set is in
/// and every IP set has loaded (until then its rules fail closed).
public final class Readiness: Sendable {
    private let ready: Atomic<Bool>
    private let setsReady = Atomic(true)
    /// The IP sets not loaded yet, each with its last failure if there was one.
    private let unloadedSets = Mutex<[(name: String, failure: String?)]>([])

    public init(ready: Bool) {
        self.ready = Atomic(ready)
    }

    public var isReady: Bool { keysReady && setsReady.load(ordering: .acquiring) }

    var keysReady: Bool { ready.load(ordering: .acquiring) }

    public func markReady() { set(true) }

    /// Whether every issuer has keys. A reload can add an issuer whose keys are not in yet:
    /// ready goes back to false until they are.
    public func set(_ value: Bool) { ready.store(value, ordering: .releasing) }

    /// The IP sets that have not loaded (empty: all have, or there are none).
    func setUnloadedIPSets(_ sets: [(name: String, failure: String?)]) {
        unloadedSets.withLock { $0 = sets }
        setsReady.store(sets.isEmpty, ordering: .releasing)
    }

    /// One line per IP set not loaded yet, for `/readyz` and the readiness path.
    var unmetIPSets: [String] {
        unloadedSets.withLock { sets in
            sets.map { "ip set '\($0.name)' not loaded yet" + ($0.failure.map { " (last attempt: \($0))" } ?? "") }
        }
    }
}

/// Pipeline step 0: the readiness path (`readiness_path`), answered here and never forwarded,
/// before any rule or token check so a probe from the kubelet needs neither.
final class ReadinessFilter: RequestFilter {
    let name = "readiness"
    let path: [UInt8]
    let readiness: Readiness

    init(path: String, readiness: Readiness) {
        self.path = Array(path.utf8)
        self.readiness = readiness
    }

    static let ready = Decision(status: 200, code: "ready", message: "ready")
    static let notReady = Decision(status: 503, code: "not_ready", message: "not ready: signing keys not loaded yet")

    func evaluate(_ request: inout RequestContext) -> FilterResult {
        guard request.head.method == .get || request.head.method == .head,
              UnsafeRawBufferPointer(rebasing: request.bytes[request.head.path]).elementsEqual(path) else { return .continue }
        return .stop(readiness.isReady ? Self.ready : notReady())
    }

    /// What is missing, named: built only for a probe that finds the proxy not ready.
    func notReady() -> Decision {
        let sets = readiness.unmetIPSets
        guard !sets.isEmpty else { return Self.notReady }
        var missing = readiness.keysReady ? [] : ["signing keys not loaded yet"]
        missing += sets
        return Decision(status: 503, code: "not_ready", message: "not ready: " + missing.joined(separator: "; "))
    }
}
