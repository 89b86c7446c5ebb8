import HTTP1
import Synchronization

/// Whether the proxy can judge tokens yet: false until every issuer's first key set is in.
public final class Readiness: Sendable {
    private let ready: Atomic<Bool>

    public init(ready: Bool) {
        self.ready = Atomic(ready)
    }

    public var isReady: Bool { ready.load(ordering: .acquiring) }

    public func markReady() { set(true) }

    /// A reload can add an issuer whose keys are not in yet: ready goes back to false until they are.
    public func set(_ value: Bool) { ready.store(value, ordering: .releasing) }
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
        return .stop(readiness.isReady ? Self.ready : Self.notReady)
    }
}
