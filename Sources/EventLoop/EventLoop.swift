import CShims
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Something that owns a file descriptor registered with an ``EventLoop``.
public protocol EventHandler: AnyObject {
    /// Called on the loop's thread with the epoll event bits (`cs_EPOLLIN`, ...).
    func handleEvent(_ events: UInt32)
}

/// One epoll loop, run by one thread for its whole life.
///
/// Sockets are registered edge-triggered for both directions once, so the request path makes no
/// epoll_ctl calls: handlers read and write until EAGAIN and remember readiness themselves.
/// Timers are a lazy min-heap (see ``TimerSlot``): pushing back a deadline costs an integer store.
///
/// Only ``execute(_:)`` and ``stop()`` may be called from other threads; they touch nothing but a
/// Mutex-guarded queue and the eventfd. Everything else belongs to the loop's own thread, which is
/// why the class can be `@unchecked Sendable`: handing it to that thread is the only crossing.
public final class EventLoop: @unchecked Sendable {
    private struct Slot {
        var handler: (any EventHandler)?
        var generation: UInt32 = 0
    }

    public let index: Int
    private let epfd: Int32
    private let wakeFD: Int32
    private var slots: [Slot] = []
    private let events: UnsafeMutablePointer<epoll_event>
    private let eventCapacity: Int32 = 256
    private var timers = TimerHeap()
    private let pending = Mutex<[@Sendable () -> Void]>([])
    private let stopping = Atomic<Bool>(false)
    private var iterationHooks: [() -> Void] = []
    /// Handlers that stopped early for fairness while still ready; resumed next iteration.
    private var soon: [any EventHandler] = []
    private var soonSwap: [any EventHandler] = []

    /// Milliseconds on the monotonic clock, read once per loop iteration.
    public private(set) var now: Int64
    /// Counts iterations, so a handler can ration work per turn of the loop.
    public private(set) var iteration: UInt64 = 0

    public init(index: Int = 0) throws(SystemError) {
        self.index = index
        epfd = try Sys.epollCreate()
        do {
            wakeFD = try Sys.eventFD()
        } catch {
            Sys.close(epfd)
            throw error
        }
        events = .allocate(capacity: Int(eventCapacity))
        now = Sys.monotonicMillis()
        slots = Array(repeating: Slot(), count: 1024)
        try Sys.epollControl(epfd, EPOLL_CTL_ADD, wakeFD, events: cs_EPOLLIN, data: UInt64(UInt32.max))
    }

    deinit {
        events.deallocate()
        Sys.close(wakeFD)
        Sys.close(epfd)
    }

    // MARK: File descriptors

    /// Registers `fd` edge-triggered for reading and writing.
    public func register(_ fd: Int32, _ handler: any EventHandler) throws(SystemError) {
        let index = Int(fd)
        if index >= slots.count {
            slots.append(contentsOf: Array(repeating: Slot(), count: max(index + 1 - slots.count, slots.count)))
        }
        slots[index].generation &+= 1
        slots[index].handler = handler
        let data = UInt64(slots[index].generation) << 32 | UInt64(UInt32(bitPattern: fd))
        do {
            try Sys.epollControl(epfd, EPOLL_CTL_ADD, fd,
                                 events: cs_EPOLLIN | cs_EPOLLOUT | cs_EPOLLRDHUP | cs_EPOLLET, data: data)
        } catch {
            slots[index].handler = nil
            throw error
        }
    }

    /// Forgets `fd` and closes it. Events already fetched for it in this iteration are dropped,
    /// even if the number is reused at once by accept.
    public func close(_ fd: Int32) {
        let index = Int(fd)
        if index < slots.count {
            slots[index].handler = nil
            slots[index].generation &+= 1
        }
        // Closing removes the descriptor from the epoll set; no epoll_ctl(DEL) needed.
        Sys.close(fd)
    }

    /// Gives `fd`'s events to another handler from now on (a connection that changes protocol):
    /// the epoll registration stays as it is.
    public func replaceHandler(_ fd: Int32, _ handler: any EventHandler) {
        let index = Int(fd)
        guard index < slots.count, slots[index].handler != nil else { return }
        slots[index].handler = handler
    }

    /// Stops watching `fd` without closing it (for a descriptor handed to another owner).
    public func deregister(_ fd: Int32) {
        let index = Int(fd)
        if index < slots.count {
            slots[index].handler = nil
            slots[index].generation &+= 1
        }
        try? Sys.epollControl(epfd, EPOLL_CTL_DEL, fd, events: 0, data: 0)
    }

    // MARK: Timers

    /// Sets (or moves) the deadline of `handler`; `deadlinePassed` runs on the first iteration after it.
    @inline(__always)
    public func setDeadline(_ handler: some TimerHandler, at deadline: Int64) {
        timers.set(handler, at: deadline)
    }

    /// Cancels `handler`'s deadline and lets go of it: a closed connection must not be kept
    /// alive by its timer.
    @inline(__always)
    public func clearDeadline(_ handler: some TimerHandler) {
        timers.clear(handler)
    }

    /// Handlers with a deadline set (for tests and leak checks).
    public var timerCount: Int { timers.count }

    private func fireTimers() {
        while let handler = timers.popDue(now: now) {
            handler.deadlinePassed(now: now)
        }
    }

    // MARK: Cross-thread

    /// Runs `task` on this loop's thread at its next iteration. Safe from any thread.
    public func execute(_ task: @escaping @Sendable () -> Void) {
        pending.withLock { $0.append(task) }
        Sys.signalEventFD(wakeFD)
    }

    /// Makes ``run()`` return after the current iteration. Safe from any thread.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        Sys.signalEventFD(wakeFD)
    }

    /// Calls `handler.handleEvent(0)` on the next iteration without waiting for epoll. For a
    /// handler that yielded the loop while its socket may still hold data: with edge-triggered
    /// epoll no new event would come for data that is already there.
    public func resumeSoon(_ handler: any EventHandler) {
        soon.append(handler)
    }

    /// Adds work done once at the end of every iteration, after all events (e.g. flushing a log buffer).
    public func addIterationHook(_ hook: @escaping () -> Void) {
        iterationHooks.append(hook)
    }

    // MARK: Running

    /// Runs until ``stop()``; returns the error that made epoll itself fail, if any.
    public func run() throws(SystemError) {
        while !stopping.load(ordering: .acquiring) {
            try runOnce(maxWaitMillis: 1000)
        }
    }

    /// One iteration: wait for events or the nearest timer, dispatch, run timers and tasks.
    public func runOnce(maxWaitMillis: Int64) throws(SystemError) {
        var timeout = soon.isEmpty ? maxWaitMillis : 0
        if let earliest = timers.earliest {
            timeout = max(0, min(timeout, earliest - Sys.monotonicMillis()))
        }
        let count = try Sys.epollWait(epfd, events, eventCapacity, timeoutMillis: Int32(timeout))
        now = Sys.monotonicMillis()
        iteration &+= 1
        // Tasks from other threads first: they publish state (a new key set, new certificates)
        // that requests read in this same iteration would otherwise miss — a request that
        // arrived with the first key set, say, was checked against none.
        for i in 0..<count where UInt32(truncatingIfNeeded: cs_epoll_event_data(events + i)) == UInt32.max {
            Sys.drainEventFD(wakeFD)
            let tasks = pending.withLock { queue -> [@Sendable () -> Void] in
                let taken = queue
                queue.removeAll(keepingCapacity: true)
                return taken
            }
            for task in tasks { task() }
            break
        }
        for i in 0..<count {
            let data = cs_epoll_event_data(events + i)
            let fd = UInt32(truncatingIfNeeded: data)
            if fd == UInt32.max { continue }
            let slot = slots[Int(fd)]
            guard slot.generation == UInt32(truncatingIfNeeded: data >> 32), let handler = slot.handler else { continue }
            handler.handleEvent(cs_epoll_event_events(events + i))
        }
        if !soon.isEmpty {
            swap(&soon, &soonSwap)
            for handler in soonSwap { handler.handleEvent(0) }
            soonSwap.removeAll(keepingCapacity: true)
        }
        if let earliest = timers.earliest, earliest <= now { fireTimers() }
        for hook in iterationHooks { hook() }
    }
}
