public import CShims
#if canImport(Glibc)
public import Glibc
#endif

// Every system call the proxy makes goes through this file: EINTR is retried here, EAGAIN becomes
// `.wouldBlock`, and everything else becomes a `SystemError` that names the call.

@inline(__always)
private func retrying(_ call: StaticString, _ body: () -> Int) throws(SystemError) -> IOResult {
    while true {
        let n = body()
        if n >= 0 { return .processed(n) }
        let e = errno
        if e == EINTR { continue }
        if e == EAGAIN || e == EWOULDBLOCK { return .wouldBlock }
        throw SystemError(call, errno: e)
    }
}

public enum Sys {
    @inline(__always)
    public static func read(_ fd: Int32, _ pointer: UnsafeMutableRawPointer, _ count: Int) throws(SystemError) -> IOResult {
        try retrying("read") { Glibc.read(fd, pointer, count) }
    }

    @inline(__always)
    public static func write(_ fd: Int32, _ pointer: UnsafeRawPointer, _ count: Int) throws(SystemError) -> IOResult {
        // send with MSG_NOSIGNAL: a peer that closed must give EPIPE, not kill the process.
        try retrying("send") { Glibc.send(fd, pointer, count, Int32(MSG_NOSIGNAL)) }
    }

    public static func close(_ fd: Int32) {
        // close(2) must not be retried on EINTR on Linux: the descriptor is already gone.
        _ = Glibc.close(fd)
    }

    public static func accept(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr_storage>) throws(SystemError) -> Int32? {
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        while true {
            let client = address.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                cs_accept4(fd, $0, &length, Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue))
            }
            if client >= 0 { return client }
            let e = errno
            switch e {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return nil
            // The peer gave up between SYN and accept, or we're out of descriptors for a moment:
            // not a listener failure. The caller tries again on the next event.
            case ECONNABORTED, EPROTO, EPERM: continue
            default: throw SystemError("accept4", errno: e)
            }
        }
    }

    public static func socket(family: Int32) throws(SystemError) -> Int32 {
        let fd = Glibc.socket(family, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket", errno: errno) }
        return fd
    }

    public static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws(SystemError) {
        var v = value
        guard setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw SystemError("setsockopt", errno: errno)
        }
    }

    public static func bind(_ fd: Int32, _ address: SocketAddress) throws(SystemError) {
        let rc = address.withSockaddr { Glibc.bind(fd, $0, $1) }
        guard rc == 0 else { throw SystemError("bind", errno: errno) }
    }

    public static func listen(_ fd: Int32, backlog: Int32) throws(SystemError) {
        guard Glibc.listen(fd, backlog) == 0 else { throw SystemError("listen", errno: errno) }
    }

    /// Starts a non-blocking connect; true when it completed at once, false when in progress.
    public static func connect(_ fd: Int32, _ address: SocketAddress) throws(SystemError) -> Bool {
        while true {
            let rc = address.withSockaddr { Glibc.connect(fd, $0, $1) }
            if rc == 0 { return true }
            let e = errno
            if e == EINTR { continue }
            if e == EINPROGRESS { return false }
            throw SystemError("connect", errno: e)
        }
    }

    /// The pending error of a socket, read once a non-blocking connect reports writable.
    public static func socketError(_ fd: Int32) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) == 0 else { return errno }
        return value
    }

    public static func localAddress(_ fd: Int32) throws(SystemError) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard rc == 0 else { throw SystemError("getsockname", errno: errno) }
        return SocketAddress(storage: storage)
    }

    public static func epollCreate() throws(SystemError) -> Int32 {
        let fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard fd >= 0 else { throw SystemError("epoll_create1", errno: errno) }
        return fd
    }

    public static func epollControl(_ epfd: Int32, _ op: Int32, _ fd: Int32, events: UInt32, data: UInt64) throws(SystemError) {
        var event = epoll_event()
        cs_epoll_event_set(&event, events, data)
        guard epoll_ctl(epfd, op, fd, &event) == 0 else { throw SystemError("epoll_ctl", errno: errno) }
    }

    public static func epollWait(_ epfd: Int32, _ events: UnsafeMutablePointer<epoll_event>, _ capacity: Int32,
                                 timeoutMillis: Int32) throws(SystemError) -> Int {
        let n = epoll_wait(epfd, events, capacity, timeoutMillis)
        if n >= 0 { return Int(n) }
        if errno == EINTR { return 0 }
        throw SystemError("epoll_wait", errno: errno)
    }

    /// A non-blocking inotify descriptor watching `path` for `mask` events.
    public static func inotifyWatch(_ path: String, mask: UInt32) throws(SystemError) -> Int32 {
        let fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard fd >= 0 else { throw SystemError("inotify_init1", errno: errno) }
        guard inotify_add_watch(fd, path, mask) >= 0 else {
            let error = SystemError("inotify_add_watch", errno: errno)
            Glibc.close(fd)
            throw error
        }
        return fd
    }

    public static func eventFD() throws(SystemError) -> Int32 {
        let fd = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard fd >= 0 else { throw SystemError("eventfd", errno: errno) }
        return fd
    }

    /// Adds one to an eventfd; a full counter (EAGAIN) already means "wake up", so it is not an error.
    public static func signalEventFD(_ fd: Int32) {
        var one: UInt64 = 1
        while Glibc.write(fd, &one, 8) < 0 && errno == EINTR {}
    }

    public static func drainEventFD(_ fd: Int32) {
        var value: UInt64 = 0
        while Glibc.read(fd, &value, 8) < 0 && errno == EINTR {}
    }

    /// Monotonic milliseconds, for timers.
    @inline(__always)
    /// Heap bytes in use across all malloc arenas (for leak checks; not for the request path).
    public static func heapBytesInUse() -> Int {
        Int(cs_heap_bytes_in_use())
    }

    /// RLIMIT_NOFILE as `serve` found it and as it left it.
    public struct OpenFileLimit: Sendable, Equatable {
        /// The soft limit before.
        public let before: UInt64
        /// The soft limit now: the hard limit, unless raising it failed.
        public let soft: UInt64
        public let hard: UInt64
    }

    /// Raises the soft open-file limit to the hard one: every connection is a descriptor, and the
    /// soft default (often 1,024) is far below what one worker can serve. An unlimited hard limit
    /// is taken as 1,048,576, the kernel's usual `fs.nr_open` ceiling. Nil if the limit cannot be read.
    public static func raiseOpenFileLimit() -> OpenFileLimit? {
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return nil }
        let before = UInt64(limit.rlim_cur)
        let target = limit.rlim_max == rlim_t.max ? rlim_t(1 << 20) : limit.rlim_max  // rlim_t.max: RLIM_INFINITY
        if limit.rlim_cur < target {
            var raised = limit
            raised.rlim_cur = target
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        return OpenFileLimit(before: before, soft: UInt64(limit.rlim_cur), hard: UInt64(limit.rlim_max))
    }

    public static func monotonicMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// Monotonic nanoseconds, for request durations in the access log.
    @inline(__always)
    public static func monotonicNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// Waits at most `timeoutMillis` for `events` (`POLLIN`, `POLLOUT`) on one descriptor, for
    /// blocking tools such as `portcullis probe`; never on an event loop. Returns the events that
    /// occurred, 0 when the time passed or a signal interrupted the wait.
    public static func poll(_ fd: Int32, events: Int16, timeoutMillis: Int32) throws(SystemError) -> Int16 {
        var entry = pollfd(fd: fd, events: events, revents: 0)
        let n = Glibc.poll(&entry, 1, timeoutMillis)
        if n > 0 { return entry.revents }
        if n == 0 || errno == EINTR { return 0 }
        throw SystemError("poll", errno: errno)
    }

    /// Starts a thread that runs `body` (usually an event loop's `run()`), keeping whatever
    /// `body` captures alive until it returns. The caller joins the thread it gets back.
    public static func startThread(_ body: @escaping @Sendable () -> Void) throws(SystemError) -> pthread_t {
        let box = Unmanaged.passRetained(ThreadBody(body))
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            Unmanaged<ThreadBody>.fromOpaque(raw).takeRetainedValue().body()
            return nil
        }, box.toOpaque())
        guard rc == 0 else {
            box.release()
            throw SystemError("pthread_create", errno: rc)
        }
        return thread
    }

    private final class ThreadBody {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Wall-clock seconds since the epoch, for token expiry and log timestamps.
    @inline(__always)
    public static func wallClock() -> (seconds: Int64, nanos: Int64) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return (Int64(ts.tv_sec), Int64(ts.tv_nsec))
    }
}
