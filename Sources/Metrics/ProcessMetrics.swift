#if canImport(Glibc)
import Glibc
#endif

/// The standard `process_*` metrics of the Prometheus client libraries, read from `/proc/self`
/// at scrape time (so they cost nothing between scrapes).
public enum ProcessMetrics {
    /// Declares `process_cpu_seconds_total`, `process_resident_memory_bytes`,
    /// `process_virtual_memory_bytes`, `process_open_fds`, `process_max_fds` and
    /// `process_start_time_seconds` in `registry`.
    public static func register(in registry: MetricsRegistry) throws(MetricsError) {
        let ticks = Double(max(sysconf(Int32(_SC_CLK_TCK)), 1))
        let pageSize = Double(max(sysconf(Int32(_SC_PAGESIZE)), 1))
        // The start time never changes: read it once.
        let startTime = stat().map { bootTime() + $0.startTicks / ticks }

        try registry.computedCounter("process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.") {
            stat().map { [Sample(($0.userTicks + $0.systemTicks) / ticks)] } ?? []
        }
        try registry.computedGauge("process_resident_memory_bytes", help: "Resident memory size in bytes.") {
            stat().map { [Sample($0.residentPages * pageSize)] } ?? []
        }
        try registry.computedGauge("process_virtual_memory_bytes", help: "Virtual memory size in bytes.") {
            stat().map { [Sample($0.virtualBytes)] } ?? []
        }
        try registry.computedGauge("process_open_fds", help: "Number of open file descriptors.") {
            openDescriptors().map { [Sample(Double($0))] } ?? []
        }
        try registry.computedGauge("process_max_fds", help: "Maximum number of open file descriptors.") {
            var limit = rlimit()
            guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return [] }
            // RLIM_INFINITY is all ones; as a Double it is still a (huge) valid number.
            return [Sample(Double(limit.rlim_cur))]
        }
        try registry.computedGauge("process_start_time_seconds",
                                   help: "Start time of the process since unix epoch in seconds.") {
            startTime.map { [Sample($0)] } ?? []
        }
    }

    struct Stat {
        var userTicks: Double
        var systemTicks: Double
        var startTicks: Double
        var virtualBytes: Double
        var residentPages: Double
    }

    /// The fields of `/proc/self/stat` (proc(5)) that the metrics need.
    static func stat() -> Stat? {
        guard let bytes = readProcFile("/proc/self/stat"),
              let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        // The command name in parentheses may hold spaces; fields are counted after its ')'.
        // Field 3 (state) is index 0 here, so field N is index N - 3.
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        func field(_ n: Int) -> Double? {
            guard n - 3 < fields.count else { return nil }
            return Double(String(decoding: fields[n - 3], as: UTF8.self))
        }
        guard let utime = field(14), let stime = field(15), let start = field(22),
              let vsize = field(23), let rss = field(24) else { return nil }
        return Stat(userTicks: utime, systemTicks: stime, startTicks: start, virtualBytes: vsize, residentPages: rss)
    }

    /// Boot time in seconds since the epoch, the `btime` line of `/proc/stat`.
    static func bootTime() -> Double {
        guard let bytes = readProcFile("/proc/stat") else { return 0 }
        for line in bytes.split(separator: UInt8(ascii: "\n")) where line.starts(with: "btime ".utf8) {
            return Double(String(decoding: line.dropFirst(6), as: UTF8.self)) ?? 0
        }
        return 0
    }

    static func openDescriptors() -> Int? {
        guard let dir = opendir("/proc/self/fd") else { return nil }
        defer { closedir(dir) }
        var count = 0
        while let entry = readdir(dir) {
            let name = UInt8(bitPattern: entry.pointee.d_name.0)
            if name != UInt8(ascii: ".") { count += 1 }
        }
        // Not counting the descriptor opendir itself holds.
        return max(count - 1, 0)
    }

    /// A whole small file from /proc (their size is not known before reading).
    static func readProcFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 20 {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            bytes += chunk[0..<n]
        }
        return bytes
    }
}
