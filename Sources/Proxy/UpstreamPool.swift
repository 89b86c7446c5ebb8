import EventLoop
import CShims
import Transport
#if canImport(Glibc)
import Glibc
#endif

/// Keep-alive connections to one upstream target, per worker, so no lock is ever taken.
final class UpstreamPool {
    /// A reload may give the same destination a new TLS context; connections keep theirs.
    var target: UpstreamTarget
    private var idle: [UpstreamConnection] = []
    // The worker outlives every connection, pool and listener it owns (they die with its loop),
    // so the reference needs no reference counting on the request path.
    unowned(unsafe) let worker: Worker

    init(target: UpstreamTarget, worker: Worker) {
        self.target = target
        self.worker = worker
        idle.reserveCapacity(min(target.maxIdle, 1024))
    }

    /// The most recently used idle connection (warmest), if any.
    func take() -> UpstreamConnection? {
        guard let connection = idle.popLast() else { return nil }
        worker.metrics.upstream(idle: -1)
        return connection
    }

    /// Opens a new connection; the connect completes asynchronously.
    func connect() throws(SystemError) -> UpstreamConnection {
        let (fd, session) = try worker.dial(target)
        let connection = UpstreamConnection(fd: fd, worker: worker, pool: self, tls: session)
        do {
            connection.tcpConnected = try worker.startConnect(fd, target, connection)
            if connection.tcpConnected {
                connection.writable = true
                // Plain TCP is ready at once; TLS starts its handshake on the first event.
                if session == nil { connection.connected = true }
            }
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    /// The exchange on `connection` ended. It is kept for the next request only if the
    /// exchange says the connection can carry one, the worker is not draining, and nothing
    /// is left over in either direction; otherwise it is closed.
    func finish(_ connection: UpstreamConnection, reusable: Bool) {
        if reusable && !worker.draining {
            release(connection)
        } else {
            connection.close()
        }
    }

    func release(_ connection: UpstreamConnection) {
        connection.owner = nil
        guard !connection.closed, !connection.hangup, idle.count < target.maxIdle, connection.input.isEmpty, connection.output.isEmpty else {
            connection.close()
            return
        }
        connection.input.shed()
        connection.output.shed()
        connection.reuseCount += 1
        connection.readable = false
        idle.append(connection)
        worker.metrics.upstream(idle: 1)
    }

    func discard(_ connection: UpstreamConnection) {
        if let index = idle.firstIndex(where: { $0 === connection }) {
            idle.remove(at: index)
            worker.metrics.upstream(idle: -1)
        }
        connection.close()
    }

    func closeAll() {
        for connection in idle { connection.close() }
        worker.metrics.upstream(idle: -Double(idle.count))
        idle.removeAll()
    }
}

extension Worker {
    /// A non-blocking socket towards `target`, with its TLS session for an https upstream.
    /// Both kinds of upstream connection (HTTP/1.1 pooled, HTTP/2 shared) start here.
    func dial(_ target: UpstreamTarget) throws(SystemError) -> (Int32, TLSSession?) {
        let fd = try Sys.socket(family: target.address.family)
        guard let tls = target.tls else { return (fd, nil) }
        do {
            return (fd, try tls.session(fd: fd))
        } catch {
            Sys.close(fd)
            throw SystemError("SSL_new", errno: 0)
        }
    }

    /// Registers `handler` for `fd` and starts connecting; true when the connect completed at once.
    func startConnect(_ fd: Int32, _ target: UpstreamTarget, _ handler: any EventHandler) throws(SystemError) -> Bool {
        try? Sys.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        try loop.register(fd, handler)
        return try Sys.connect(fd, target.address)
    }
}
