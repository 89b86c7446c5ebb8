import EventLoop
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Watches the directory of the config file with inotify, on its own thread, and calls
/// `changed` once things settle after anything is written, created or renamed there.
///
/// The directory, not the file: editors save by renaming a new file into place, and Kubernetes
/// updates a mounted ConfigMap by swapping a `..data` symlink; a watch on the file itself would
/// stay on the old inode and see neither. Events do not say whether the content changed; the
/// reloader compares bytes, so a burst of events costs one read.
final class ConfigWatcher: Sendable {
    private let inotifyFD: Int32
    private let stopFD: Int32
    private let thread = Mutex<pthread_t?>(nil)
    private let changed: @Sendable () -> Void
    /// Quiet time after the last event before `changed` runs: a write in place comes as a
    /// truncate and several writes, and reading in the middle would see half a file.
    static let settleMillis: Int32 = 150

    /// Throws when inotify is unavailable; the server then reloads on SIGHUP only.
    init(path: String, changed: @escaping @Sendable () -> Void) throws(SystemError) {
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM)
        inotifyFD = try Sys.inotifyWatch(Self.directory(of: path), mask: mask)
        do {
            stopFD = try Sys.eventFD()
        } catch {
            close(inotifyFD)
            throw error
        }
        self.changed = changed
    }

    deinit {
        close(inotifyFD)
        close(stopFD)
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    func start() {
        do {
            let handle = try Sys.startThread { [self] in run() }
            thread.withLock { $0 = handle }
        } catch {
            // No thread, no watch: SIGHUP still reloads.
        }
    }

    func stop() {
        Sys.signalEventFD(stopFD)
        if let handle = thread.withLock({ state -> pthread_t? in let t = state; state = nil; return t }) {
            pthread_join(handle, nil)
        }
    }

    private func run() {
        var fds = [pollfd(fd: inotifyFD, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0)]
        var pending = false
        while true {
            let ready = poll(&fds, 2, pending ? Self.settleMillis : -1)
            if ready < 0 && errno == EINTR { continue }
            if fds[1].revents != 0 { return }
            if ready > 0 && fds[0].revents != 0 {
                drainEvents()
                pending = true
                continue
            }
            if ready == 0 && pending {
                pending = false
                changed()
            }
        }
    }

    private func drainEvents() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(inotifyFD, $0.baseAddress, $0.count) }
            if n > 0 { continue }
            if n < 0 && errno == EINTR { continue }
            return
        }
    }
}
