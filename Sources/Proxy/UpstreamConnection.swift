import EventLoop
import CShims
import Synchronization
import Transport

/// One connection to the upstream (TCP, or TLS over it for an `https://` upstream). While an
/// exchange uses it, its events go to that exchange; while idle in the pool, an event means the
/// upstream closed it (or, under TLS, sent a post-handshake message, which is read and kept).
final class UpstreamConnection: EventHandler {
    let fd: Int32
    let transport: Transport
    /// TCP connect finished (the TLS handshake may still be under way).
    var tcpConnected = false
    private let live: LiveObjects
    // The worker outlives every connection, pool and listener it owns (they die with its loop),
    // so the reference needs no reference counting on the request path.
    unowned(unsafe) let worker: Worker
    /// Their storage is lent by the worker's pool while they hold bytes; a connection idle in
    /// the pool holds none (``UpstreamPool/release(_:)`` sheds it).
    let input: IOBuffer
    let output: IOBuffer
    /// Ready for HTTP: connected, and under TLS the handshake done and verified.
    var connected = false
    var readable = false
    var writable = false
    var closed = false
    /// The peer's FIN (or an error) was signalled; with edge triggering no further event will
    /// announce it, so reads go on until they see it.
    var hangup = false
    /// The exchange using this connection; nil while pooled. Counted as an active upstream
    /// connection while set.
    var owner: (any UpstreamOwner)? {
        didSet {
            if (oldValue == nil) != (owner == nil) { worker.metrics.upstream(active: owner == nil ? -1 : 1) }
        }
    }
    /// Requests this connection has carried, to know whether a failure may be a stale keep-alive.
    var reuseCount = 0

    /// The pool it came from and goes back to (one per upstream target).
    let pool: UpstreamPool

    init(fd: Int32, worker: Worker, pool: UpstreamPool, tls: TLSSession?) {
        self.fd = fd
        self.pool = pool
        transport = tls.map { .tls($0) } ?? .plain(fd)
        self.worker = worker
        live = worker.live
        live.upstreams.add(1, ordering: .relaxed)
        input = IOBuffer(lendingFrom: worker.buffers.blocks)
        output = IOBuffer(lendingFrom: worker.buffers.blocks)
    }

    deinit {
        live.upstreams.subtract(1, ordering: .relaxed)
    }

    func handleEvent(_ events: UInt32) {
        guard !closed else { return }
        if events & cs_EPOLLOUT != 0 { writable = true }
        if events & (cs_EPOLLIN | cs_EPOLLRDHUP | cs_EPOLLHUP | cs_EPOLLERR) != 0 { readable = true }
        if events & (cs_EPOLLRDHUP | cs_EPOLLHUP | cs_EPOLLERR) != 0 { hangup = true }
        if let owner {
            owner.upstreamEvent(events)
        } else if readable {
            // Pooled and idle: readability is the upstream closing or speaking out of turn —
            // unless it is a TLS message with no data for us (a session ticket).
            if case .tls = transport, (try? transport.read(into: input, maxHeld: 4096)) == .wouldBlock, input.isEmpty {
                readable = false
                input.shed()
                return
            }
            pool.discard(self)
        }
    }

    enum Received {
        /// Bytes arrived; there may be more.
        case data
        /// Nothing more for now: the socket is drained, or `input` is at its bound (the
        /// connection stays readable and is read again once the client has taken bytes).
        case stop
        case endOfStream
        case failed
    }

    /// One read into `input`, keeping `readable` true exactly while the socket may hold more:
    /// with edge-triggered events, clearing it too early loses the data (or the FIN) for good.
    func receive() -> Received {
        let result: IOBuffer.ReadResult
        do {
            result = try transport.read(into: input, maxHeld: worker.settings.upstreamMaxHeld)
        } catch {
            readable = false
            return .failed
        }
        switch result {
        case .read(_, let filled):
            if !filled && !hangup { readable = false }
            return .data
        case .wouldBlock:
            readable = false
            return .stop
        case .full:
            return .stop
        case .endOfStream:
            readable = false
            return .endOfStream
        }
    }

    enum ReadEnd {
        /// Nothing more for now (or the exchange let go of the connection).
        case paused
        /// The client side is full; read again once it has taken bytes.
        case noRoom
        case endOfStream
        case failed
    }

    /// Reads for the exchange while `owned()` and `hasRoom()`, calling `received` after every
    /// read that brought bytes. At most 16 reads a turn: then the connection is resumed on the
    /// next loop turn, so one busy upstream cannot starve the other connections.
    func readRounds(owned: () -> Bool, hasRoom: () -> Bool, received: () -> Void) -> ReadEnd {
        var rounds = 0
        while readable && owned() {
            rounds += 1
            if rounds > 16 {
                worker.loop.resumeSoon(self)
                return .paused
            }
            guard hasRoom() else { return .noRoom }
            switch receive() {
            case .data: received()
            case .stop: return .paused
            case .endOfStream: return .endOfStream
            case .failed: return .failed
            }
        }
        return .paused
    }

    enum Establishing { case ready, pending, failed }

    /// For an exchange's event handler: true once HTTP can flow. On the way there `ready` runs
    /// once (the exchange arms its response timer), or `failed` when the connect or the TLS
    /// handshake failed.
    func becomeReady(ready: () -> Void, failed: () -> Void) -> Bool {
        if connected { return true }
        switch establish() {
        case .pending:
            return false
        case .failed:
            failed()
            return false
        case .ready:
            ready()
            return true
        }
    }

    /// Moves the connection towards ready: the TCP connect's outcome, then the TLS handshake
    /// (the upstream's certificate verified against its name). Called from its events.
    func establish() -> Establishing {
        if connected { return .ready }
        if !tcpConnected {
            guard writable || readable else { return .pending }
            guard Sys.socketError(fd) == 0 else { return .failed }
            tcpConnected = true
            writable = true
        }
        guard case .tls(let session) = transport else {
            connected = true
            return .ready
        }
        switch session.handshake() {
        case .done:
            connected = true
            writable = true
            return .ready
        case .pending:
            return .pending
        case .failed:
            return .failed
        }
    }

    /// Writes what is queued; false means the connection failed.
    @inline(__always)
    func flush() -> Bool {
        guard connected, writable, !output.isEmpty else { return true }
        do {
            if try !transport.write(from: output) { writable = false }
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
