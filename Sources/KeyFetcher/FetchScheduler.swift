import CShims
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs named fetch jobs on one background thread, each on its own schedule, never on an event
/// loop: the machinery the key fetcher and the IP-set loader share.
///
/// A new job is due at once. A run that succeeds is due again after the interval its fetch
/// returned; one that fails, after ``Backoff``. The owner keeps its last good result: a failure
/// delivers only its reason. A run whose job was replaced or removed while it ran (a reload)
/// counts for nothing and delivers nothing. ``request(_:)`` asks for an early run, granted at
/// most once per job per `earlyIntervalMillis`, so a flood of asks costs one fetch.
package final class FetchScheduler<Job: Sendable & Equatable, Product: Sendable>: Sendable {
    /// What one run of a job gave.
    package enum Outcome: Sendable {
        case fetched(Product, refreshAfterMillis: Int64)
        case failed(String)
    }

    /// What the owner is told after a run that still counts.
    package enum Delivery: Sendable {
        case fetched(Product)
        case failed(reason: String, retryInMillis: Int64)
    }

    struct Slot {
        var job: Job
        var nextRun: Int64 = 0
        var failures = 0
        // Far enough in the past that the first early run is always allowed, without overflow.
        var lastEarlyRun: Int64 = -(1 << 50)
        var succeeded = false
    }

    struct Shared {
        /// Job ids in the owner's order: runs that fall due together go in this order.
        var ids: [String] = []
        var slots: [String: Slot] = [:]
        var requested: Set<String> = []
        var stopping = false
        var runs = 0
    }

    private let shared = Mutex(Shared())
    private let thread = Mutex<pthread_t?>(nil)
    private let wakeFD: Int32
    private let earlyIntervalMillis: Int64
    private let backoff = Backoff()
    private let fetch: @Sendable (_ id: String, _ job: Job) -> Outcome
    private let deliver: @Sendable (_ id: String, _ job: Job, _ delivery: Delivery) -> Void

    /// `fetch` runs on the scheduler's thread (or the caller's, in ``runDueNow()``) without any
    /// lock held; so does `deliver`, after the schedule is updated.
    package init(jobs: [(id: String, job: Job)], earlyIntervalMillis: Int64 = 0,
                 fetch: @escaping @Sendable (_ id: String, _ job: Job) -> Outcome,
                 deliver: @escaping @Sendable (_ id: String, _ job: Job, _ delivery: Delivery) -> Void) {
        self.earlyIntervalMillis = earlyIntervalMillis
        self.fetch = fetch
        self.deliver = deliver
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        update(jobs: jobs)
    }

    deinit {
        if wakeFD >= 0 { close(wakeFD) }
    }

    /// The jobs in effect, in order.
    package var jobs: [(id: String, job: Job)] {
        shared.withLock { state in state.ids.compactMap { id in state.slots[id].map { (id, $0.job) } } }
    }

    /// Takes a new set of jobs. A job whose id and value are unchanged keeps its schedule (no
    /// run because of the update); a new or changed one is due at once, unless `fresh` gives
    /// the milliseconds until its next run (the owner has just fetched it itself); a job that
    /// is gone is no longer run.
    package func update(jobs: [(id: String, job: Job)], fresh: [String: Int64] = [:]) {
        let now = Self.nowMillis()
        shared.withLock { state in
            var slots: [String: Slot] = [:]
            for (id, job) in jobs {
                if let kept = state.slots[id], kept.job == job {
                    slots[id] = kept
                    continue
                }
                var slot = Slot(job: job)
                if let after = fresh[id] {
                    slot.nextRun = now + after
                    slot.succeeded = true
                }
                slots[id] = slot
            }
            state.ids = jobs.map(\.id)
            state.slots = slots
            state.requested = state.requested.filter { slots[$0] != nil }
        }
        wake()
    }

    /// Whether `id` is one of the jobs.
    package func contains(_ id: String) -> Bool { shared.withLock { $0.slots[id] != nil } }

    /// Asks for an early run of `id`; true when the ask was queued (false for an unknown job or
    /// one already asked for). The run happens only if the job's last early run is older than
    /// `earlyIntervalMillis`. Cheap and safe from any thread.
    @discardableResult
    package func request(_ id: String) -> Bool {
        let accepted = shared.withLock { state in
            state.slots[id] != nil && state.requested.insert(id).inserted
        }
        if accepted { wake() }
        return accepted
    }

    /// True once every job has succeeded at least once.
    package var allSucceeded: Bool { shared.withLock { $0.slots.values.allSatisfy(\.succeeded) } }

    /// Runs so far.
    package var runCount: Int { shared.withLock { $0.runs } }

    /// Runs every job that is due, one after the other, on the calling thread (at startup,
    /// before serving, so the first results are in before the first request).
    package func runDueNow() {
        let now = Self.nowMillis()
        let due = shared.withLock { state in
            state.ids.compactMap { id in state.slots[id].flatMap { $0.nextRun <= now ? (id, $0.job) : nil } }
        }
        for (id, job) in due { run(id, job) }
    }

    /// Starts the background thread; it runs whatever is due from then on.
    package func startInBackground() {
        let body = Unmanaged.passRetained(ThreadBody { self.loop() })
        var handle = pthread_t()
        pthread_create(&handle, nil, { raw in
            guard let raw else { return nil }
            Unmanaged<ThreadBody>.fromOpaque(raw).takeRetainedValue().run()
            return nil
        }, body.toOpaque())
        thread.withLock { $0 = handle }
    }

    /// Stops the thread after the run in progress, if any, and waits for it.
    package func stop() {
        shared.withLock { $0.stopping = true }
        wake()
        if let handle = thread.withLock({ state -> pthread_t? in let t = state; state = nil; return t }) {
            pthread_join(handle, nil)
        }
    }

    private func wake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    package static func nowMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    private func loop() {
        while true {
            let now = Self.nowMillis()
            // Decide what is due under the lock; run it outside.
            let (due, stopping, wait) = shared.withLock { state -> ([(String, Job)], Bool, Int64) in
                var due: [String] = []
                for id in state.requested {
                    if var slot = state.slots[id], now - slot.lastEarlyRun >= earlyIntervalMillis {
                        slot.lastEarlyRun = now
                        state.slots[id] = slot
                        due.append(id)
                    }
                }
                state.requested.removeAll()
                for id in state.ids where !due.contains(id) {
                    if let slot = state.slots[id], slot.nextRun <= now { due.append(id) }
                }
                let next = state.slots.values.map(\.nextRun).min() ?? now + 60_000
                let jobs = due.compactMap { id in state.slots[id].map { (id, $0.job) } }
                return (jobs, state.stopping, max(0, min(next - now, 60_000)))
            }
            if stopping { return }
            for (id, job) in due { run(id, job) }
            if due.isEmpty {
                var poller = pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)
                _ = poll(&poller, 1, Int32(wait))
                var value: UInt64 = 0
                _ = read(wakeFD, &value, 8)
            }
        }
    }

    private func run(_ id: String, _ job: Job) {
        shared.withLock { $0.runs += 1 }
        let outcome = fetch(id, job)
        let delivery = shared.withLock { state -> Delivery? in
            // A reload may have dropped or changed the job while it ran.
            guard var slot = state.slots[id], slot.job == job else { return nil }
            let delivery: Delivery
            switch outcome {
            case .fetched(let product, let after):
                slot.failures = 0
                slot.succeeded = true
                slot.nextRun = Self.nowMillis() + after
                delivery = .fetched(product)
            case .failed(let reason):
                slot.failures += 1
                let wait = backoff.delay(afterFailures: slot.failures)
                slot.nextRun = Self.nowMillis() + wait
                delivery = .failed(reason: reason, retryInMillis: wait)
            }
            state.slots[id] = slot
            return delivery
        }
        if let delivery { deliver(id, job, delivery) }
    }
}

/// What the scheduler's thread runs: a plain class, because a C thread entry point cannot
/// name the generic scheduler.
private final class ThreadBody {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}
