import Config
import EventLoop
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The descriptors `serve` needs: every client connection is one, and one more while its request
/// is at the upstream; the upstream keep-alive pools hold theirs even when no client is there.
enum OpenFiles {
    /// Client connections the limit should leave room for, before `serve` warns.
    static let clientsWanted = 1024
    /// Listeners, epoll, eventfds, timers, log and configuration files, the admin listener.
    static let fixed = 64

    /// Descriptors the configuration keeps whatever the traffic: the workers' upstream pools
    /// when full, and one listening socket per listener and worker.
    static func reserved(for config: PortcullisConfig) -> Int {
        let workers = config.workers ?? max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let pools = (config.upstream?.maxIdleConnections ?? 0) + (config.egress?.routes.reduce(0) { $0 + $1.upstream.maxIdleConnections } ?? 0)
        let listeners = config.listeners.count + (config.egress?.listeners.count ?? 0)
        return workers * (pools + listeners) + fixed
    }

    /// Client connections `limit` descriptors leave room for, each with its upstream connection.
    static func clientRoom(limit: UInt64, reserved: Int) -> Int {
        max(0, (Int(clamping: limit) - reserved) / 2)
    }

    /// Raises the soft limit to the hard one and logs both; warns when even that leaves room for
    /// fewer than ``clientsWanted`` clients once the configuration's own descriptors are counted.
    static func raise(for config: PortcullisConfig, log: Logger) {
        guard let limit = Sys.raiseOpenFileLimit() else {
            log.warning("open files: cannot read RLIMIT_NOFILE; connections may be refused early")
            return
        }
        if limit.soft > limit.before {
            log.info("open files: soft limit raised from \(limit.before) to \(limit.soft) (hard limit \(limit.hard))")
        } else {
            log.info("open files: limit \(limit.soft) (hard limit \(limit.hard))")
        }
        let reserved = reserved(for: config)
        let room = clientRoom(limit: limit.soft, reserved: reserved)
        if room < clientsWanted {
            log.warning("open files: a limit of \(limit.soft) leaves room for about \(room) client connections: \(reserved) descriptors go to the upstream pools (workers × max_idle_connections) and listeners, and each client uses two while its request is upstream; raise the hard limit (ulimit -Hn, systemd LimitNOFILE=, the container's nofile ulimit)")
        }
    }
}
