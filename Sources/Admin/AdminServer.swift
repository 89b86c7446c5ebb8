public import EventLoop
import CShims
#if canImport(Glibc)
import Glibc
#endif

/// The admin listener: `GET /healthz`, `/readyz`, `/metrics` and `/config` over HTTP/1.1 on an
/// address of its own, served by its own thread and ``EventLoop`` so that a busy or stuck
/// traffic worker cannot hide itself from the probes that are meant to notice it.
///
/// ```swift
/// let admin = try AdminServer(address: address, routes: routes)   // binds now: errors before traffic
/// try admin.start()                                               // the admin thread
/// ...
/// admin.stop()                                                    // closes everything, joins the thread
/// ```
///
/// Requests are parsed by the strict HTTP/1.1 parser: a malformed one gets 400 (or the parser's
/// 414/431/505) and the connection is closed; methods other than GET and HEAD get 405; unknown
/// paths 404. Keep-alive works; a request with a body is answered and the connection closed (the
/// admin API takes no bodies). A connection is closed when a request head has not completed, or
/// no new request has come, within ``Options/idleTimeout``.
public final class AdminServer: @unchecked Sendable {
    // Unchecked: `connections` and every connection object are touched only by the admin
    // thread between start() and the join in stop(), and by the caller before start() or after
    // that join; the ServerLoop is Sendable.

    /// Bounds on what one client may hold.
    public struct Options: Sendable {
        /// Largest request head; more is refused with 431 and the connection closed.
        public var maxRequestBytes: Int
        /// How long a request head may take, and how long a connection may sit idle.
        public var idleTimeout: Duration
        /// Connections beyond this many are closed as soon as they are accepted.
        public var maxConnections: Int

        public init(maxRequestBytes: Int = 8_192, idleTimeout: Duration = .seconds(30), maxConnections: Int = 64) {
            self.maxRequestBytes = maxRequestBytes
            self.idleTimeout = idleTimeout
            self.maxConnections = maxConnections
        }
    }

    /// The address actually bound (with the port the kernel chose when asked for port 0).
    public var address: SocketAddress { server.address }
    let routes: AdminRoutes
    let options: Options
    private let server: ServerLoop
    var loop: EventLoop { server.loop }
    var listenFD: Int32 { server.listenFD }
    var connections: [Int32: AdminConnection] = [:]

    /// Binds and listens on `address` at once, so a taken port fails here, before the caller
    /// opens any traffic listener. Serves nothing until ``start()``.
    public init(address: SocketAddress, routes: AdminRoutes, options: Options = .init()) throws(SystemError) {
        self.routes = routes
        self.options = options
        server = try ServerLoop(address: address)
        try loop.register(listenFD, Acceptor(server: self))
    }

    /// Starts the admin thread. Call once.
    public func start() throws(SystemError) {
        try server.start(keeping: self)
    }

    /// Stops the admin thread and waits for it, then closes the listening socket and every
    /// admin connection. Safe to call more than once, and without ``start()``; not from a route
    /// closure (it would wait for its own thread).
    public func stop() {
        server.stop { for connection in Array(connections.values) { connection.close() } }
    }

    /// Accepts until the backlog is empty; over the connection limit, closes at once.
    final class Acceptor: EventHandler {
        unowned let server: AdminServer
        var peer = sockaddr_storage()

        init(server: AdminServer) {
            self.server = server
        }

        func handleEvent(_ events: UInt32) {
            while let fd = try? Sys.accept(server.listenFD, &peer) {
                guard server.connections.count < server.options.maxConnections else {
                    Sys.close(fd)
                    continue
                }
                let connection = AdminConnection(fd: fd, server: server)
                guard (try? server.loop.register(fd, connection)) != nil else {
                    Sys.close(fd)
                    continue
                }
                server.connections[fd] = connection
                connection.start()
            }
        }
    }
}
