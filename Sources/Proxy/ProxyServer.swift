public import Config
public import EventLoop
import Transport
public import Tokens
import Synchronization
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
/// anything is served. The class is shared with the signal-handling thread only through
/// ``shutdown(drainMillis:)`` and ``wait()``, which use the loops' cross-thread `execute`.
public final class ProxyServer: @unchecked Sendable {
    private let workers: [Worker]
    private var threads: [pthread_t] = []
    private let drained = DrainCounter()
    /// Connection objects alive across all workers (a closed connection must leave none).
    public let live: LiveObjects
    /// The addresses actually bound, in listener order (ports resolved when 0 was asked for).
    public let boundAddresses: [SocketAddress]

    /// Builds workers and binds every listener. `pipeline` (compiled from the same config, so
    /// its errors came first) makes each worker's filter chain.
    public init(config: PortcullisConfig, pipeline: PipelineFactory, refresher: (@Sendable (String) -> Void)? = nil) throws(ServerError) {
        guard let upstream = SocketAddress.resolve(host: config.upstream.host, port: config.upstream.port) else {
            throw ServerError(description: "upstream.url: cannot resolve host '\(config.upstream.host)'")
        }
        let count = config.workers ?? max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        var settings = WorkerSettings(config)
        settings.upstreamTLS = pipeline.upstreamTLS
        let live = LiveObjects()
        var workers: [Worker] = []
        var bound: [SocketAddress] = []
        do {
            for index in 0..<count {
                workers.append(try Worker(index: index, settings: settings, upstream: upstream, pipeline: pipeline.make(worker: index, refresher: refresher),
                                          forwardingHeaderIsXFF: (config.clientIP?.header ?? .xForwardedFor) == .xForwardedFor, live: live))
            }
        } catch {
            throw ServerError(description: "cannot create event loop: \(error)")
        }
        for (index, listener) in config.listeners.enumerated() {
            // Built with the pipeline, before any socket: a bad certificate is a config error.
            let tls = index < pipeline.listenerTLS.count ? pipeline.listenerTLS[index] : nil
            guard var address = SocketAddress(host: listener.address.host, port: listener.address.port) else {
                throw ServerError(description: "listener \(listener.address): not a numeric address")
            }
            for worker in workers {
                do {
                    let fd = try Listener.open(address)
                    if address.port == 0 { address = try Sys.localAddress(fd) }
                    try worker.addListener(fd: fd, proxyProtocol: listener.proxyProtocol, tls: tls,
                                           offers: OfferedProtocols(listener.protocols))
                } catch {
                    throw ServerError(description: "listener \(listener.address): \(error)")
                }
            }
            bound.append(address)
        }
        self.workers = workers
        self.live = live
        self.boundAddresses = bound
    }

    /// Bytes held by the workers' buffer pools for reuse: memory that stays by design.
    public var pooledBufferBytes: Int {
        workers.reduce(0) { $0 + $1.buffers.freeCount * $1.buffers.bufferSize }
    }

    /// Re-reads every TLS listener's certificates and keys (SIGHUP). New handshakes use them;
    /// connections already open keep the context they were made with. A file that no longer
    /// loads is an error naming its key, and the certificates in use stay.
    public func reloadCertificates(_ config: PortcullisConfig) throws(ConfigError) {
        var contexts: [ServerTLS?] = []
        for listener in config.listeners {
            contexts.append(try listener.tls.map { (settings) throws(ConfigError) in try ServerTLS(settings, protocols: listener.protocols) })
        }
        let fresh = contexts
        for worker in workers {
            let box = WorkerRef(worker)
            worker.loop.execute { box.worker.replaceTLS(fresh) }
        }
    }

    /// Hands a new key snapshot to every worker; each swaps it in on its own loop, so the
    /// request path reads keys without a lock.
    public func publish(_ snapshot: KeySnapshot) {
        for worker in workers {
            let box = WorkerRef(worker)
            worker.loop.execute {
                for filter in box.worker.pipeline.filters {
                    if let tokens = filter as? TokenFilter { tokens.keys = snapshot }
                }
            }
        }
    }

    /// Starts one thread per worker.
    public func start() throws(ServerError) {
        // OpenSSL writes to its sockets with write(2): a peer that vanished mid-handshake must be
        // an EPIPE for that one connection, never a signal that ends the process.
        signal(SIGPIPE, SIG_IGN)
        for worker in workers {
            let box = Unmanaged.passRetained(WorkerBox(worker.loop))
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { raw in
                guard let raw else { return nil }
                let box = Unmanaged<WorkerBox>.fromOpaque(raw).takeRetainedValue()
                try? box.loop.run()
                return nil
            }, box.toOpaque())
            guard rc == 0 else {
                box.release()
                throw ServerError(description: "pthread_create failed: errno \(rc)")
            }
            threads.append(thread)
        }
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
    }

    /// Joins the worker threads.
    public func wait() {
        for thread in threads { pthread_join(thread, nil) }
        threads.removeAll()
    }
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
