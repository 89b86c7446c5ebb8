import Config
import EventLoop
import Transport
import CShims
#if canImport(Glibc)
import Glibc
#endif

/// A worker's own SO_REUSEPORT listening socket; the kernel spreads connections across workers.
final class Listener: EventHandler, TimerHandler {
    var timer = TimerSlot()
    let fd: Int32
    /// The configured address (`host:port` as the file wrote it): what a reload matches on.
    let key: String
    // A reload replaces these in place; a connection keeps what it was accepted with.
    var proxyProtocol: Bool
    var tls: ServerTLS?
    var offers: OfferedProtocols
    let egress: Bool
    // The worker outlives every connection, pool and listener it owns (they die with its loop),
    // so the reference needs no reference counting on the request path.
    unowned(unsafe) let worker: Worker
    private var peer = sockaddr_storage()

    /// Binds and listens; errors name the call and the address.
    static func open(_ address: SocketAddress) throws(SystemError) -> Int32 {
        let fd = try Sys.socket(family: address.family)
        do {
            try Sys.setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            try Sys.setOption(fd, SOL_SOCKET, SO_REUSEPORT, 1)
            if address.family == AF_INET6 { try Sys.setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1) }
            // Accepted sockets inherit TCP_NODELAY; setting it here saves a syscall per connection.
            try Sys.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
            try Sys.bind(fd, address)
            // As deep as the kernel allows (net.core.somaxconn caps it): a burst of thousands of
            // connects then waits in the queue instead of being dropped and retried a second later.
            try Sys.listen(fd, backlog: 65_535)
        } catch {
            Sys.close(fd)
            throw error
        }
        return fd
    }

    func deadlinePassed(now: Int64) {
        handleEvent(0)
    }

    init(fd: Int32, key: String, proxyProtocol: Bool, tls: ServerTLS?, offers: OfferedProtocols, egress: Bool, worker: Worker) {
        self.egress = egress
        self.offers = offers
        self.fd = fd
        self.key = key
        self.proxyProtocol = proxyProtocol
        self.tls = tls
        self.worker = worker
    }

    /// Connections taken per turn of the loop before the others get theirs. Accepting until
    /// EAGAIN under a connect flood adopts thousands of connections before any of their own
    /// events (a FIN, a request) is looked at, and each holds its buffers meanwhile: memory then
    /// follows the flood instead of the work. HAProxy's `tune.maxaccept` default is 64 too.
    static let acceptsPerTurn = 64

    private var turn: UInt64 = .max
    private var acceptedThisTurn = 0
    private var resumePending = false

    func handleEvent(_ events: UInt32) {
        // Edge-triggered: accept until the queue is empty, or until this turn's share is taken
        // and then come back on a later iteration (no new edge would announce the rest). The
        // share is per iteration, whether the call came from epoll or from a resume.
        if events == 0 { resumePending = false }
        if turn != worker.loop.iteration {
            turn = worker.loop.iteration
            acceptedThisTurn = 0
        }
        while !worker.draining {
            if acceptedThisTurn >= Self.acceptsPerTurn {
                if !resumePending {
                    resumePending = true
                    worker.loop.resumeSoon(self)
                }
                return
            }
            acceptedThisTurn += 1
            let client: Int32?
            do {
                client = try Sys.accept(fd, &peer)
            } catch {
                // EMFILE/ENFILE/ENOMEM: the queue is not empty, so no new edge will come for it.
                // Try again shortly rather than spin or starve.
                worker.acceptFailed(error)
                worker.loop.setDeadline(self, at: worker.loop.now + 100)
                return
            }
            guard let client else { return }
            worker.adopt(fd: client, peer: SocketAddress(storage: peer), listener: key, proxyProtocol: proxyProtocol, tls: tls, offers: offers, egress: egress)
        }
    }
}

/// The protocols a listener serves, as the connection layer needs them.
struct OfferedProtocols: OptionSet, Sendable {
    let rawValue: UInt8
    static let http1 = OfferedProtocols(rawValue: 1)
    static let h2 = OfferedProtocols(rawValue: 2)

    init(rawValue: UInt8) { self.rawValue = rawValue }

    init(_ protocols: [ApplicationProtocol]) {
        self = []
        if protocols.contains(.http11) { insert(.http1) }
        if protocols.contains(.h2) { insert(.h2) }
    }
}
