import EventLoop
import Transport
import HTTP2
import Config
import CShims
import Synchronization
import Metrics
#if canImport(Glibc)
import Glibc
#endif

/// One thread, one event loop, its own listeners, upstream pool and access log.
/// A connection accepted here lives and dies here; nothing on the request path is shared.
final class Worker {
    let loop: EventLoop
    /// Replaced by a reload between events; what a connection reads at each step is current.
    private(set) var settings: WorkerSettings
    let accessLog: AccessLog
    let metrics: WorkerMetrics
    let live: LiveObjects
    /// The 16 KiB buffers of this worker's client and upstream connections, lent while they
    /// read or write and given back when they idle.
    let buffers = BufferPool()
    /// 2 KiB buffers for what a request needs beside them: the upstream head kept for a retry,
    /// the access log's method and path. Connections take these only while a request is on.
    let smallBlocks = BlockPool(blockSize: 2048)
    /// Made by ``apply(_:newSockets:)`` from the configuration in effect: the ingress chain
    /// (network, certificate, token) and the egress one (route, outgoing token).
    var pipeline = RequestPipeline(filters: [])
    var egressPipeline = RequestPipeline(filters: [])
    /// The shared HTTP/2 connection to the upstream (`upstream.protocol: h2`), opened on demand.
    var h2Upstream: H2UpstreamConnection?
    /// One pool per upstream target, in the order of ``WorkerUpdate/targets``: the ingress
    /// upstream's first when there is one, then each egress route's.
    private(set) var pools: [UpstreamPool] = []
    private var hasIngress = false

    /// The pool of the ingress upstream; nil in a configuration that holds egress alone.
    var ingressPool: UpstreamPool? { hasIngress ? pools.first : nil }

    func pool(for target: Int) -> UpstreamPool? { target < pools.count ? pools[target] : nil }
    /// The addresses this worker accepts on, by their configured key.
    var listenerKeys: [String] { listeners.map(\.key) }
    private var listeners: [Listener] = []
    private var connections: [(any DownstreamConnection)?] = []
    private(set) var connectionCount = 0
    private(set) var draining = false
    var onDrained: (() -> Void)?
    var acceptErrors = 0
    var tlsHandshakeFailures = 0
    let h2Limits: H2Limits
    var proxyProtocolRejected = 0
    /// Whether the client-IP header is X-Forwarded-For (so the XFF list can be cut at the client).
    private(set) var forwardingHeaderIsXFF: Bool

    init(index: Int, settings: WorkerSettings,
         forwardingHeaderIsXFF: Bool, live: LiveObjects, metrics: PortcullisMetrics, counting: Bool) throws(SystemError) {
        self.live = live
        self.metrics = WorkerMetrics(metrics, enabled: counting)
        var limits = H2Limits()
        limits.maxHeaderListBytes = UInt32(clamping: settings.requestLimits.maxHeadBytes)
        h2Limits = limits
        self.forwardingHeaderIsXFF = forwardingHeaderIsXFF
        loop = try EventLoop(index: index)
        self.settings = settings
        accessLog = AccessLog(enabled: settings.accessLog, worker: index)
        let log = accessLog
        loop.addIterationHook { log.flush() }
    }

    /// One listening socket for this worker (see ``ListenerPlan``).
    func addListener(_ plan: ListenerPlan, fd: Int32) throws(SystemError) {
        let listener = Listener(fd: fd, key: plan.key, proxyProtocol: plan.proxyProtocol, tls: plan.tls, offers: plan.offers,
                                egress: plan.egress, worker: self)
        try loop.register(fd, listener)
        listeners.append(listener)
    }

    /// Takes a reloaded configuration; runs on the loop, between events, so every request
    /// admitted after it sees the new rules and none sees half of them. Listeners that stay
    /// take their new settings in place; new ones (sockets bound by the server, one per worker)
    /// start accepting before the ones that are gone are closed; open connections stay.
    func apply(_ update: WorkerUpdate, newSockets: [String: Int32]) {
        settings = update.settings
        accessLog.configure(enabled: settings.accessLog, sample: settings.accessSample, keepQuery: settings.accessQuery)
        pipeline = update.pipeline.make(worker: loop.index, refresher: update.refresher)
        egressPipeline = update.pipeline.makeEgress()
        forwardingHeaderIsXFF = update.forwardingHeaderIsXFF
        let targets = update.pipeline.targets
        hasIngress = update.pipeline.hasIngress
        if targets.count == pools.count, zip(pools, targets).allSatisfy({ $0.target.sameDestination(as: $1) }) {
            for (pool, target) in zip(pools, targets) { pool.target = target }
        } else {
            // Exchanges in flight finish on the connections they hold; new ones go to the new places.
            for pool in pools { pool.closeAll() }
            pools = targets.map { UpstreamPool(target: $0, worker: self) }
            h2Upstream?.retire()
            h2Upstream = nil
        }
        guard !draining else {
            for fd in newSockets.values { Sys.close(fd) }
            return
        }
        for plan in update.listeners {
            if let existing = listeners.first(where: { $0.key == plan.key }) {
                existing.proxyProtocol = plan.proxyProtocol
                existing.tls = plan.tls
                existing.offers = plan.offers
            } else if let fd = newSockets[plan.key] {
                do {
                    try addListener(plan, fd: fd)
                } catch {
                    Sys.close(fd)
                }
            }
        }
        let wanted = Set(update.listeners.map(\.key))
        for listener in listeners where !wanted.contains(listener.key) {
            loop.close(listener.fd)
        }
        listeners.removeAll { !wanted.contains($0.key) }
    }

    func adopt(fd: Int32, peer: SocketAddress, listener: String, proxyProtocol: Bool, tls: ServerTLS?, offers: OfferedProtocols,
               egress: Bool) {
        var session: TLSSession?
        if let tls {
            guard let made = try? tls.session(fd: fd) else {
                Sys.close(fd)
                return
            }
            session = made
        }
        let connection = ClientConnection(fd: fd, peer: peer, worker: self, listener: listener, expectProxyHeader: proxyProtocol,
                                          tls: session, offers: offers, egress: egress)
        do {
            try loop.register(fd, connection)
        } catch {
            Sys.close(fd)
            return
        }
        let index = Int(fd)
        if index >= connections.count {
            connections.append(contentsOf: repeatElement(nil, count: max(index + 1 - connections.count, 256)))
        }
        connections[index] = connection
        connectionCount += 1
        metrics.connection(on: listener, 1)
        // Under load the client's first bytes (a request, a ClientHello) have often arrived by
        // the time the listener accepts: read them now rather than after an epoll round. (There
        // is no TCP_DEFER_ACCEPT: when nothing is there yet this costs one read saying EAGAIN.)
        connection.readable = true
        connection.drive()
        if !connection.closed && connection.state == .readingHead && connection.input.isEmpty {
            connection.arm(.idle, settings.idleMillis)
        }
    }

    /// The client turned out to speak HTTP/2: the same socket goes on as an ``H2Connection``.
    func handOverToH2(_ connection: ClientConnection) {
        let h2 = H2Connection(from: connection)
        connection.detachForHandover()
        loop.replaceHandler(connection.fd, h2)
        let index = Int(connection.fd)
        if index < connections.count { connections[index] = h2 }
        h2.start()
    }

    func connectionClosed(_ connection: any DownstreamConnection) {
        let index = Int(connection.fd)
        if index < connections.count, connections[index] === connection {
            connections[index] = nil
            connectionCount -= 1
            metrics.connection(on: connection.listener, -1)
        }
        if draining && connectionCount == 0 { finishDrain() }
    }

    func acceptFailed(_ error: SystemError) {
        acceptErrors += 1
    }

    /// Stops accepting, closes idle keep-alive connections, lets the rest finish with
    /// `Connection: close`. Runs on the loop thread.
    func beginDrain() {
        guard !draining else { return }
        draining = true
        for listener in listeners { loop.close(listener.fd) }
        listeners.removeAll()
        for pool in pools { pool.closeAll() }
        for case let connection? in connections { connection.drain() }
        if connectionCount == 0 { finishDrain() }
    }

    private func finishDrain() {
        accessLog.flush()
        onDrained?()
        onDrained = nil
    }

    /// The HTTP/2 upstream connection that takes new streams, opening one when needed.
    func h2UpstreamConnection() throws(SystemError) -> H2UpstreamConnection {
        if let current = h2Upstream, current.acceptsStreams { return current }
        let fresh = try H2UpstreamConnection.open(worker: self)
        h2Upstream = fresh
        return fresh
    }

    /// Closes everything at once (after the drain timeout).
    func closeAll() {
        h2Upstream?.close()
        for case let connection? in connections { connection.close() }
        for pool in pools { pool.closeAll() }
        accessLog.flush()
    }
}

/// A listener as the configuration says it, for every worker; the server binds the sockets.
struct ListenerPlan: Sendable {
    let key: String
    /// An egress listener: the local app's calls out, judged by the egress chain.
    var egress = false
    let proxyProtocol: Bool
    let tls: ServerTLS?
    let offers: OfferedProtocols
}

/// What a reload hands each worker.
struct WorkerUpdate: Sendable {
    let settings: WorkerSettings
    /// Each worker makes its own filter chain from it, on its own loop.
    let pipeline: PipelineFactory
    let refresher: (@Sendable (_ issuer: String, _ kid: String?) -> Void)?
    let forwardingHeaderIsXFF: Bool
    let listeners: [ListenerPlan]
}

/// A client connection as its worker's table sees it, whatever protocol it speaks.
protocol DownstreamConnection: AnyObject {
    var fd: Int32 { get }
    /// The configured address of the listener that accepted it (the metrics' `listener`).
    var listener: String { get }
    func close()
    /// Shutting down: take no new request; close at once if nothing is in flight.
    func drain()
}
