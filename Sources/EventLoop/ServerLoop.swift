import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A listening socket and the event loop that serves it on a thread of its own: the shape of
/// each small server beside the proxy's workers (the admin listener, the dev issuer). It binds
/// at once, so a taken port fails before anything else starts; runs its loop on one thread;
/// and stops from any other thread, joining it before the owner cleans up.
///
/// ```swift
/// let server = try ServerLoop(address: address)        // bound and listening
/// try server.loop.register(server.listenFD, acceptor)  // the owner's accept handler
/// try server.start(keeping: owner)                     // the thread keeps `owner` alive
/// server.stop { close every connection }              // stops, joins, cleans up, closes
/// ```
public final class ServerLoop: Sendable {
    private enum State {
        case bound
        case running(pthread_t)
        case stopped
    }

    public let loop: EventLoop
    public let listenFD: Int32
    /// The address actually bound (the kernel's port when asked for port 0).
    public let address: SocketAddress
    private let state = Mutex(State.bound)

    public init(address wanted: SocketAddress, backlog: Int32 = 64) throws(SystemError) {
        let fd = try Sys.socket(family: wanted.family)
        do {
            try Sys.setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            try Sys.bind(fd, wanted)
            try Sys.listen(fd, backlog: backlog)
            address = try Sys.localAddress(fd)
            loop = try EventLoop()
        } catch {
            Sys.close(fd)
            throw error
        }
        listenFD = fd
    }

    deinit {
        // Only reached when the thread never ran or has ended: it holds its owner, and the
        // owner holds this, while it runs.
        if case .stopped = state.withLock({ $0 }) { return }
        loop.close(listenFD)
    }

    /// Starts the thread, which keeps `owner` alive until its loop returns, so handlers' unowned
    /// references to the owner stay valid however the caller lets go. Call once.
    public func start(keeping owner: some AnyObject & Sendable) throws(SystemError) {
        let thread = try Sys.startThread { [self, owner] in
            withExtendedLifetime(owner) { try? loop.run() }
        }
        state.withLock { $0 = .running(thread) }
    }

    /// Stops the loop and joins its thread, then runs `cleanup` (on the calling thread, the
    /// loop's state now safe to touch) and closes the listening socket. Safe to call more than
    /// once (later calls do nothing) and without ``start(keeping:)``; never from the loop's own
    /// thread (it would wait for itself).
    public func stop(then cleanup: () -> Void) {
        let previous = state.withLock { state -> State in
            let previous = state
            state = .stopped
            return previous
        }
        switch previous {
        case .stopped:
            return
        case .running(let thread):
            loop.stop()
            pthread_join(thread, nil)
        case .bound:
            break
        }
        cleanup()
        loop.close(listenFD)
    }
}
