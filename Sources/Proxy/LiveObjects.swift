import Synchronization

/// How many connection objects of one server are alive right now.
///
/// "A closed connection leaves nothing" is a claim about object lifetimes, so it is counted
/// where lifetimes end: in `deinit`. A retain cycle, a timer entry or a table slot that keeps a
/// connection past its close shows here as a count that does not come back down. Workers of one
/// server share it; the atomics are touched once per connection, never per request.
public final class LiveObjects: Sendable {
    let clients = Atomic<Int>(0)
    let upstreams = Atomic<Int>(0)

    public init() {}

    /// Client connections not yet deallocated.
    public var clientConnections: Int { clients.load(ordering: .relaxed) }
    /// Upstream connections not yet deallocated (pooled idle ones included).
    public var upstreamConnections: Int { upstreams.load(ordering: .relaxed) }
}
