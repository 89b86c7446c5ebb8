public import Config
public import EventLoop
import Transport
public import Tokens
import Synchronization
import KeyFetcher
import IPSets
import NetworkPolicy
import Metrics
#if canImport(Glibc)
import Glibc
#endif

/// Why the server could not start; said before any request is served.
public struct ServerError: Error, CustomStringConvertible {
    public let description: String
}

/// The running proxy: N workers, each an event loop on its own thread with its own listeners.
///
/// All sockets are bound in ``init(config:pipeline:)``, so a port in use fails there, before
/// anything is served. The class is shared with the signal-handling, key-fetching and reload
/// threads; what they change is behind `state`, and the workers are only ever reached through
/// their loops' cross-thread `execute`.
public final class ProxyServer: @unchecked Sendable {
    private let workers: [Worker]
    private var threads: [pthread_t] = []
    private let drained = DrainCounter()
    /// Connection objects alive across all workers (a closed connection must leave none).
    public let live: LiveObjects
    let state: Mutex<ServerState>
    /// Reloads one at a time (SIGHUP and the file watch may both ask); IP-set loads take it too.
    let reloading = Mutex(())
    private let relay: FetcherRelay
    /// Every metric; each worker writes its own shard, the key fetcher's thread and the
    /// reloads (one at a time) each one more.
    private let metrics: PortcullisMetrics
    private let fetcherShard: MetricsShard
    private let controlShard: MetricsShard
    /// Per worker: when the health check last asked its loop to answer, and when it did.
    private let pings: [WorkerPing]
    /// The token cache the scrape reads; a reload that changes the token rules replaces it.
    private let cacheInEffect: CacheInEffect
    /// The IP sets the scrape reads; a reload replaces them.
    private let ipSetsInEffect: IPSetsInEffect
    /// The worker threads run (readiness reads it from the admin thread).
    private let serving = Atomic(false)

    struct ServerState {
        var factory: PipelineFactory
        var config: PortcullisConfig
        /// Listener keys with the address actually bound (the port resolved when 0 was asked).
        var bound: [(key: String, address: SocketAddress)]
        var fetcher: KeyFetcher?
        var ipSetLoader: IPSetLoader?
        var generation = 1
        var reloads = (succeeded: 0, failed: 0)
    }

    /// The addresses actually bound, in listener order (ports resolved when 0 was asked for).
    public var boundAddresses: [SocketAddress] { state.withLock { $0.bound.map(\.address) } }

    /// How many configurations have been in effect (1 at start, +1 per successful reload).
    public var configGeneration: Int { state.withLock { $0.generation } }

    /// Builds workers and binds every listener. `pipeline` (compiled from the same config, so
    /// its errors came first) makes each worker's filter chain.
    public init(config: PortcullisConfig, pipeline: PipelineFactory, version: String = "dev") throws(ServerError) {
        let count = config.workers ?? max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        // The workers' token filters ask the key fetcher for early refreshes through the relay
        // (the fetcher starts after the server exists, as it publishes into it).
        let relay = FetcherRelay()
        let update = Self.workerUpdate(config, pipeline, refresher: { relay.request($0, kid: $1) })
        let live = LiveObjects()
        let cache = CacheInEffect(pipeline.validator?.cache)
        let ipSets = IPSetsInEffect(pipeline.network)
        do {
            metrics = try PortcullisMetrics(version: version,
                                           tokenCacheEntries: { cache.current?.count ?? 0 },
                                           tokenCacheEvictions: { cache.current?.evictions ?? 0 },
                                           ipSets: { ipSets.samples })
        } catch {
            throw ServerError(description: "metrics: \(error)")
        }
        var workers: [Worker] = []
        do {
            for index in 0..<count {
                workers.append(try Worker(index: index, settings: update.settings,
                                          forwardingHeaderIsXFF: update.forwardingHeaderIsXFF, live: live, metrics: metrics,
                                          counting: config.admin != nil))
            }
        } catch {
            throw ServerError(description: "cannot create event loop: \(error)")
        }
        let opened = try Self.openListeners(config, keep: [], workers: count)
        for worker in workers {
            worker.apply(update, newSockets: opened.sockets[worker.loop.index])
        }
        self.workers = workers
        self.live = live
        self.relay = relay
        self.cacheInEffect = cache
        ipSetsInEffect = ipSets
        state = Mutex(ServerState(factory: pipeline, config: config, bound: opened.bound, fetcher: nil))
        fetcherShard = metrics.registry.makeShard()
        controlShard = metrics.registry.makeShard()
        controlShard.set(metrics.configGeneration, 1)
        pings = workers.map { _ in WorkerPing() }
    }



    private static func workerUpdate(_ config: PortcullisConfig, _ pipeline: PipelineFactory,
                                     refresher: (@Sendable (_ issuer: String, _ kid: String?) -> Void)?) -> WorkerUpdate {
        let settings = WorkerSettings(config)
        let keys = listenerKeys(config)
        let ingress = config.listeners.count
        let plans = keys.enumerated().map { index, key in
            guard index < ingress else {
                return ListenerPlan(key: key, egress: true, proxyProtocol: false, tls: nil, offers: OfferedProtocols([.http11]))
            }
            let listener = config.listeners[index]
            return ListenerPlan(key: key, proxyProtocol: listener.proxyProtocol,
                                tls: index < pipeline.listenerTLS.count ? pipeline.listenerTLS[index] : nil,
                                offers: OfferedProtocols(listener.protocols))
        }
        return WorkerUpdate(settings: settings, pipeline: pipeline, refresher: refresher,
                            forwardingHeaderIsXFF: (config.clientIP?.header ?? .xForwardedFor) == .xForwardedFor,
                            listeners: plans)
    }

    /// What identifies a listener across reloads: its address as configured, numbered when the
    /// same one appears twice (two `127.0.0.1:0` listeners are two sockets on two ports).
    /// Ingress listeners first, then egress ones (prefixed, so the same address cannot be both).
    private static func listenerKeys(_ config: PortcullisConfig) -> [String] {
        var seen: [String: Int] = [:]
        let addresses = config.listeners.map(\.address.description) + (config.egress?.listeners ?? []).map { "egress " + $0.description }
        return addresses.map { address in
            let count = seen[address, default: 0]
            seen[address] = count + 1
            return count == 0 ? address : "\(address)#\(count)"
        }
    }

    /// Binds one SO_REUSEPORT socket per worker for each listener whose key is not in `keep`.
    /// On any failure every socket opened here is closed again, so nothing half-applies.
    private static func openListeners(_ config: PortcullisConfig, keep: [(key: String, address: SocketAddress)],
                                       workers: Int) throws(ServerError) -> (sockets: [[String: Int32]], bound: [(key: String, address: SocketAddress)]) {
        var sockets = [[String: Int32]](repeating: [:], count: workers)
        var bound: [(key: String, address: SocketAddress)] = []
        let keys = listenerKeys(config)
        let addresses = config.listeners.map(\.address) + (config.egress?.listeners ?? [])
        for (index, configured) in addresses.enumerated() {
            let key = keys[index]
            if let kept = keep.first(where: { $0.key == key }) {
                bound.append(kept)
                continue
            }
            guard var address = SocketAddress(host: configured.host, port: configured.port) else {
                sockets.forEach { $0.values.forEach(Sys.close) }
                throw ServerError(description: "listener \(configured): not a numeric address")
            }
            for index in 0..<workers {
                do {
                    let fd = try Listener.open(address)
                    if address.port == 0 { address = try Sys.localAddress(fd) }
                    sockets[index][key] = fd
                } catch {
                    sockets.forEach { $0.values.forEach(Sys.close) }
                    throw ServerError(description: "listener \(configured): \(error)")
                }
            }
            bound.append((key, address))
        }
        return (sockets, bound)
    }

    /// Storage blocks the workers' connections hold now (both pools): none once every
    /// connection, client and upstream, is idle.
    public var lentBuffers: Int {
        workers.reduce(0) { $0 + $1.buffers.lentCount + $1.smallBlocks.lentCount }
    }

    /// Bytes held by the workers' buffer pools for reuse: memory that stays by design.
    public var pooledBufferBytes: Int {
        workers.reduce(0) { $0 + $1.buffers.freeCount * $1.buffers.bufferSize + $1.smallBlocks.freeCount * $1.smallBlocks.blockSize }
    }

    // MARK: Reload

    /// Why a reload was refused; the configuration in effect stays.
    public enum ReloadError: Error, CustomStringConvertible {
        case config(ConfigError)
        case server(ServerError)

        public var description: String {
            switch self {
            case .config(let error): return error.description
            case .server(let error): return error.description
            }
        }
    }

    /// What a successful reload changed that only a restart would apply.
    public struct ReloadOutcome: Sendable {
        public let generation: Int
        /// Settings the file changed that take effect at the next start (e.g. `workers`).
        public let needsRestart: [String]
    }

    /// Puts a new configuration into effect without dropping a connection: the file's rules,
    /// tokens, certificates, timeouts and upstream are compiled here, off the loops, then each
    /// worker swaps them in between two events; requests already admitted finish as they are.
    /// New listeners are bound before any that vanished are closed. Issuers whose key source
    /// did not change keep their keys (no fetch) and, when the token rules are unchanged, the
    /// token cache. IP sets whose source did not change keep their prefixes (no fetch); new or
    /// changed ones are loaded here, before the reload takes effect (each bounded by
    /// ``IPSetLoader/fetchTimeout``), so a reachable source never starts out fail-closed.
    /// Anything invalid (a key, a certificate, a port in use) refuses the whole reload and the
    /// running configuration stays.
    public func reload(_ config: PortcullisConfig) throws(ReloadError) -> ReloadOutcome {
        try reload { () throws(ConfigError) -> PortcullisConfig in config }
    }

    /// As ``reload(_:)``, with the file read and validated by `load`; a file that does not
    /// validate counts as a failed reload like any other refusal.
    public func reload(_ load: () throws(ConfigError) -> PortcullisConfig) throws(ReloadError) -> ReloadOutcome {
        let result = reloading.withLock { _ in
            Result { () throws(ReloadError) -> ReloadOutcome in
                switch Result(catching: load) {
                case .success(let config): return try self.apply(config)
                case .failure(let error): throw .config(error)
                }
            }
        }
        switch result {
        case .success(let outcome):
            controlShard.increment(metrics.reloadsSucceeded)
            controlShard.set(metrics.configGeneration, Double(outcome.generation))
        case .failure:
            state.withLock { $0.reloads.failed += 1 }
            controlShard.increment(metrics.reloadsFailed)
        }
        return try result.get()
    }

    private func apply(_ config: PortcullisConfig) throws(ReloadError) -> ReloadOutcome {
        let (previous, bound) = state.withLock { ($0.factory, $0.bound) }
        let factory: PipelineFactory
        do {
            factory = try PipelineFactory(config: config, previous: previous, loadIPSet: { IPSetLoader.loadNow($0) })
        } catch {
            throw .config(error)
        }
        let opened: (sockets: [[String: Int32]], bound: [(key: String, address: SocketAddress)])
        do {
            let wanted = Set(Self.listenerKeys(config))
            opened = try Self.openListeners(config, keep: bound.filter { wanted.contains($0.key) }, workers: workers.count)
        } catch {
            previous.reassertReadiness()
            throw .server(error)
        }
        let relay = relay
        let update = Self.workerUpdate(config, factory, refresher: { relay.request($0, kid: $1) })
        for worker in workers {
            let box = WorkerRef(worker)
            let sockets = opened.sockets[worker.loop.index]
            worker.loop.execute { box.worker.apply(update, newSockets: sockets) }
        }
        let (fetcher, ipSetLoader, generation, old) = state.withLock { state in
            let old = state.config
            state.factory = factory
            state.config = config
            cacheInEffect.current = factory.validator?.cache
            ipSetsInEffect.current = factory.network
            state.bound = opened.bound
            state.generation += 1
            state.reloads.succeeded += 1
            return (state.fetcher, state.ipSetLoader, state.generation, old)
        }
        if let fetcher {
            fetcher.update(sources: factory.fetchedSources)
        } else if !factory.fetchedSources.isEmpty {
            startKeyFetcher(waitForFirstKeys: false)
        }
        if let ipSetLoader {
            ipSetLoader.update(sources: factory.ipSetSources, holding: factory.loadedIPSetNames)
        } else if !factory.ipSetSources.isEmpty {
            startIPSets(waitForFirstLoad: false)
        }
        var restart: [String] = []
        if old.workers != config.workers { restart.append("workers") }
        if old.admin != config.admin { restart.append("admin") }
        return ReloadOutcome(generation: generation, needsRestart: restart)
    }

    /// Reload counts so far, for metrics: (succeeded, failed).
    public var reloadCounts: (succeeded: Int, failed: Int) { state.withLock { $0.reloads } }

    // MARK: Keys

    /// Starts fetching the keys of the issuers that publish them over HTTP(S), on the fetcher's
    /// own thread. With `waitForFirstKeys` (at startup, before serving) the first fetch of each
    /// issuer is made here, bounded by the fetch timeout. Returns whether every issuer has keys.
    @discardableResult
    public func startKeyFetcher(waitForFirstKeys: Bool = true) -> Bool {
        let (factory, existing) = state.withLock { ($0.factory, $0.fetcher) }
        if existing != nil { return factory.readiness.isReady }
        guard !factory.fetchedSources.isEmpty, let auth = state.withLock({ $0.config.auth }) else { return true }
        let fetcher = KeyFetcher(sources: factory.fetchedSources, settings: auth.keys, observe: { [weak self] issuer, succeeded, keys in
            self?.fetched(issuer: issuer, succeeded: succeeded, keys: keys)
        }, publish: { [weak self] issuer, set in
            self?.keysFetched(issuer: issuer, set: set)
        })
        state.withLock { $0.fetcher = fetcher }
        relay.attach(fetcher)
        // Keys kept from an earlier run (state_dir) or a bootstrap file already let the proxy
        // judge tokens: serve at once and let the first fetch happen in the background.
        if waitForFirstKeys && !factory.readiness.isReady {
            fetcher.start()
        } else {
            fetcher.startInBackground()
        }
        return factory.readiness.isReady
    }

    /// A fetch ended on the key fetcher's thread (the only writer of its shard).
    private func fetched(issuer: String, succeeded: Bool, keys: Int) {
        if let counter = try? metrics.jwksFetches.series([issuer, succeeded ? "success" : "failure"]) {
            fetcherShard.increment(counter)
        }
        guard succeeded else { return }
        if let last = try? metrics.jwksLastSuccess.series([issuer]) {
            fetcherShard.set(last, Double(Sys.wallClock().seconds))
        }
        if let count = try? metrics.jwksKeys.series([issuer]) { fetcherShard.set(count, Double(keys)) }
    }

    /// Hands recompiled network rules to every worker; each swaps them in on its own loop.
    func publish(_ policy: NetworkPolicy) {
        onEveryWorkersFilters { ($0 as? NetworkFilter)?.policy = policy }
    }

    /// Runs `change` on each filter of every worker's chain, on that worker's own loop, between
    /// two events: how a new immutable snapshot reaches the request path without a lock.
    private func onEveryWorkersFilters(_ change: @escaping @Sendable (any RequestFilter) -> Void) {
        for worker in workers {
            let box = WorkerRef(worker)
            worker.loop.execute {
                for filter in box.worker.pipeline.filters { change(filter) }
            }
        }
    }

    // MARK: Operations

    /// The Prometheus text of every metric, summed over the workers' shards.
    public func renderMetrics() -> [UInt8] { metrics.registry.render() }

    /// What keeps the proxy from being ready, one line each; empty when ready.
    public func unmetReadiness() -> [String] {
        let (factory, bound) = state.withLock { ($0.factory, $0.bound) }
        var unmet: [String] = []
        if !serving.load(ordering: .acquiring) || bound.isEmpty { unmet.append("listeners: not serving yet") }
        let snapshot = factory.keys?.current
        let now = Double(Sys.wallClock().seconds)
        unmet += factory.readiness.unmetIPSets
        for source in factory.fetchedSources {
            if snapshot?.sets[source.issuer] == nil {
                unmet.append("issuer \(source.issuer): no signing keys yet")
            } else if let fetched = snapshot?.fetchedAt[source.issuer], now - fetched > factory.maxStale {
                unmet.append("issuer \(source.issuer): signing keys last fetched \(Int(now - fetched)) s ago, past max_stale")
            }
        }
        return unmet
    }

    /// Worker loops that have not answered a check within `stuckMillis`, one line each; empty
    /// when every loop is turning. Asks each loop to answer the next check without waiting
    /// for it, so a probe never blocks on a stuck worker.
    public func healthProblems(stuckMillis: Int64 = 2000) -> [String] {
        let now = Sys.monotonicMillis()
        var problems: [String] = []
        for (worker, ping) in zip(workers, pings) {
            let asked = ping.asked.load(ordering: .acquiring)
            let answered = ping.answered.load(ordering: .acquiring)
            if asked > answered {
                if now - asked > stuckMillis { problems.append("worker \(worker.loop.index): its loop has not run for \(now - asked) ms") }
                continue
            }
            ping.asked.store(now, ordering: .releasing)
            worker.loop.execute { ping.answered.store(Sys.monotonicMillis(), ordering: .releasing) }
        }
        return problems
    }

    /// The configuration in effect (the last one loaded successfully).
    public var currentConfig: PortcullisConfig { state.withLock { $0.config } }

    /// Whether every issuer has its keys (and so the proxy can judge tokens).
    public var isReady: Bool { state.withLock { $0.factory.readiness }.isReady }

    /// A key set was fetched: the configuration in effect takes it, then every worker, on its
    /// own loop, so the request path reads keys without a lock.
    private func keysFetched(issuer: String, set: KeySet) {
        guard let snapshot = state.withLock({ $0.factory.keysFetched(issuer: issuer, set: set) }) else { return }
        publish(snapshot)
    }

    /// Hands a new key snapshot to every worker; each swaps it in on its own loop.
    func publish(_ snapshot: KeySnapshot) {
        onEveryWorkersFilters { ($0 as? TokenFilter)?.keys = snapshot }
    }

    /// Starts one thread per worker.
    public func start() throws(ServerError) {
        // OpenSSL writes to its sockets with write(2): a peer that vanished mid-handshake must be
        // an EPIPE for that one connection, never a signal that ends the process.
        signal(SIGPIPE, SIG_IGN)
        for worker in workers {
            let box = WorkerBox(worker.loop)
            do {
                threads.append(try Sys.startThread { try? box.loop.run() })
            } catch {
                throw ServerError(description: "cannot start worker \(worker.loop.index): \(error)")
            }
        }
        serving.store(true, ordering: .releasing)
    }

    /// Stops accepting and lets requests in flight finish; returns once every worker is idle or
    /// `drainMillis` passed, then stops the loops. Call from a thread that is not a worker.
    public func shutdown(drainMillis: Int64) {
        for worker in workers {
            let box = WorkerRef(worker)
            let counter = drained
            worker.loop.execute {
                box.worker.onDrained = { counter.increment() }
                box.worker.beginDrain()
            }
        }
        let deadline = Sys.monotonicMillis() + drainMillis
        while drained.value < workers.count && Sys.monotonicMillis() < deadline {
            usleep(20_000)
        }
        for worker in workers {
            let box = WorkerRef(worker)
            worker.loop.execute { box.worker.closeAll() }
            worker.loop.stop()
        }
        wait()
        let (fetcher, ipSetLoader) = state.withLock { state -> (KeyFetcher?, IPSetLoader?) in
            defer { (state.fetcher, state.ipSetLoader) = (nil, nil) }
            return (state.fetcher, state.ipSetLoader)
        }
        fetcher?.stop()
        ipSetLoader?.stop()
    }

    /// Joins the worker threads.
    public func wait() {
        for thread in threads { pthread_join(thread, nil) }
        threads.removeAll()
    }
}

/// The token cache of the configuration in effect, for the scrape thread.
private final class CacheInEffect: Sendable {
    private let cache: Mutex<TokenCache?>
    init(_ cache: TokenCache?) { self.cache = Mutex(cache) }
    var current: TokenCache? {
        get { cache.withLock { $0 } }
        set { cache.withLock { $0 = newValue } }
    }
}

/// A health check's question to one worker's loop and the loop's answer (monotonic ms).
private final class WorkerPing: Sendable {
    let asked = Atomic<Int64>(0)
    let answered = Atomic<Int64>(0)
}

/// Counts workers that finished draining; written by worker threads, read by the waiting one.
private final class DrainCounter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

/// Carries a loop into its thread. The loop is handed over once and then used only there.
private final class WorkerBox: @unchecked Sendable {
    let loop: EventLoop
    init(_ loop: EventLoop) { self.loop = loop }
}

/// Lets a task sent with `execute` reach its worker; it is only dereferenced on that worker's
/// own loop thread, which is what makes the unchecked conformance safe.
private final class WorkerRef: @unchecked Sendable {
    let worker: Worker
    init(_ worker: Worker) { self.worker = worker }
}
