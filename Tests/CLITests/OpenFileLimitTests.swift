import Foundation
import TestSupport
import Testing

/// `serve` raises its open-file limit to the hard limit before binding and says so, and warns
/// when even the hard limit leaves little room for clients.
@Suite("Open-file limit")
struct OpenFileLimitTests {
    /// Runs `serve` for a moment under the limits `ulimit` sets, and returns what it logged.
    static func serve(ulimits: String, yaml: String) throws -> String {
        let path = try CLITests().writeConfig(yaml)
        defer { try? FileManager.default.removeItem(atPath: path) }
        // SIGTERM after the timeout: serve drains (nothing is open) and exits.
        let run = try ProgramRun(["sh", "-c", "\(ulimits) && exec \"$0\" serve --config \"$1\"", CLITests.binary.path, path], timeout: 1.5)
        return run.output
    }

    /// The hard limit as this process sees it (the child inherits it).
    static var hardLimit: UInt64 {
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        return UInt64(limit.rlim_max)
    }

    @Test func theSoftLimitIsRaisedToTheHardLimitAndLogged() throws {
        let hard = Self.hardLimit
        try #require(hard > 512 && hard != UInt64(rlim_t.max), "needs a finite hard limit above 512, have \(hard)")
        let log = try Self.serve(ulimits: "ulimit -Sn 256", yaml: """
        listeners: [{address: "127.0.0.1:\(ReloadTests.freePort())"}]
        upstream: {url: "http://127.0.0.1:\(ReloadTests.freePort())"}
        workers: 1
        """)
        #expect(log.contains("open files: soft limit raised from 256 to \(hard) (hard limit \(hard))"), "\(log)")
        #expect(log.contains("listening on"), "\(log)")
        let room = hard >= 1024 * 2 + 200
        #expect(log.contains("leaves room for about") == !room, "\(log)")
    }

    @Test func aHardLimitTooLowForThePoolsIsWarnedAbout() throws {
        try #require(Self.hardLimit >= 1500, "needs a hard limit of at least 1,500, have \(Self.hardLimit)")
        // Two workers' pools of 1,000 idle upstream connections alone exceed 1,500 descriptors.
        let log = try Self.serve(ulimits: "ulimit -Sn 1000 && ulimit -Hn 1500", yaml: """
        listeners: [{address: "127.0.0.1:\(ReloadTests.freePort())"}]
        upstream: {url: "http://127.0.0.1:\(ReloadTests.freePort())", max_idle_connections: 1000}
        workers: 2
        """)
        #expect(log.contains("open files: soft limit raised from 1000 to 1500 (hard limit 1500)"), "\(log)")
        #expect(log.contains("warning"), "\(log)")
        #expect(log.contains("a limit of 1500 leaves room for about 0 client connections: 2066 descriptors go to the upstream pools"), "\(log)")
        // A warning, not a refusal: it still serves.
        #expect(log.contains("listening on"), "\(log)")
    }
}
