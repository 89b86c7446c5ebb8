import EventLoop
import CShims
import Synchronization

/// One TCP connection to the upstream. While an exchange uses it, its events go to that
/// exchange's ``ClientConnection``; while idle in the pool, an event means the upstream closed it.
final class UpstreamConnection: EventHandler {
    let fd: Int32
    private let live: LiveObjects
    /// Held strongly: `deinit` gives the buffers back, and may run after the worker is gone.
    private let buffers: BufferPool
    // The worker outlives every connection, pool and listener it owns (they die with its loop),
    // so the reference needs no reference counting on the request path.
    unowned(unsafe) let worker: Worker
    let input: IOBuffer
    let output: IOBuffer
    var connected = false
    var readable = false
    var writable = false
    var closed = false
    /// The peer's FIN (or an error) was signalled; with edge triggering no further event will
    /// announce it, so reads go on until they see it.
    var hangup = false
    /// The exchange using this connection; nil while pooled.
    var owner: (any UpstreamOwner)?
    /// Requests this connection has carried, to know whether a failure may be a stale keep-alive.
    var reuseCount = 0

    init(fd: Int32, worker: Worker) {
        self.fd = fd
        self.worker = worker
        live = worker.live
        live.upstreams.add(1, ordering: .relaxed)
        buffers = worker.buffers
        input = buffers.take()
        output = buffers.take()
    }

    deinit {
        buffers.give(input)
        buffers.give(output)
        live.upstreams.subtract(1, ordering: .relaxed)
    }

    func handleEvent(_ events: UInt32) {
        guard !closed else { return }
        if events & cs_EPOLLOUT != 0 { writable = true }
        if events & (cs_EPOLLIN | cs_EPOLLRDHUP | cs_EPOLLHUP | cs_EPOLLERR) != 0 { readable = true }
        if events & (cs_EPOLLRDHUP | cs_EPOLLHUP | cs_EPOLLERR) != 0 { hangup = true }
        if let owner {
            owner.upstreamEvent(events)
        } else {
            // Pooled and idle: any readability is the upstream closing (or speaking out of turn).
            if readable { worker.pool.discard(self) }
        }
    }

    /// Writes what is queued; false means the connection failed.
    @inline(__always)
    func flush() -> Bool {
        guard connected, writable, !output.isEmpty else { return true }
        do {
            if try !output.write(to: fd) { writable = false }
            return true
        } catch {
            return false
        }
    }

    func close() {
        guard !closed else { return }
        closed = true
        owner = nil
        worker.loop.close(fd)
    }
}

/// The exchange an upstream connection works for: it gets the connection's events.
protocol UpstreamOwner: AnyObject {
    func upstreamEvent(_ events: UInt32)
}
