import Foundation
import TestSupport
import Testing

/// The executable as a user runs it: exit status and the one line of error text.
@Suite("portcullis command line")
struct CLITests {
    static var binary: URL {
        // The test bundle runs from the build products folder, beside the executable.
        let exe = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        return exe.deletingLastPathComponent().appendingPathComponent("portcullis")
    }

    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// `directory`: the working directory (the repository root, for the examples' relative paths).
    func run(_ arguments: [String], timeout: TimeInterval = 10, directory: URL? = nil) throws -> Run {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return Run(status: process.terminationStatus,
                   stdout: String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
                   stderr: String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    func writeConfig(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "portcullis-\(UUID().uuidString).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func badConfigIsOneLineNamingTheKeyAndExitsBeforeListening() throws {
        let path = try writeConfig("""
        listeners: [{address: "127.0.0.1:18999"}]
        upstream:
          url: http://127.0.0.1:8000
          connect_timeout: soon
        """)
        for command in ["check", "serve"] {
            let result = try run([command, "--config", path])
            #expect(result.status == 2, "\(command): \(result.stderr)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(command): \(result.stderr)")
            #expect(result.stderr.contains("'upstream.connect_timeout' (line 4)"))
            #expect(!result.stderr.contains("Fatal error"))
        }
    }

    @Test func anUnreadableCertificateIsOneLineNamingTheKeyAndExitsBeforeListening() throws {
        let path = try writeConfig("""
        listeners:
          - address: "127.0.0.1:18997"
            tls: {certificates: [{cert: /nonexistent/tls.crt, key: /nonexistent/tls.key}]}
        upstream: {url: "http://127.0.0.1:8000"}
        """)
        for command in ["check", "serve"] {
            let result = try run([command, "--config", path])
            #expect(result.status == 2, "\(command): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(command): \(result.stderr)")
            #expect(result.stderr.contains("'listeners[0].tls.certificates[0].cert'"))
            #expect(result.stderr.contains("cannot read certificate chain '/nonexistent/tls.crt'"))
        }
    }

    @Test func missingFileIsAClearError() throws {
        let result = try run(["check", "--config", "/nonexistent/portcullis.yaml"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("cannot read /nonexistent/portcullis.yaml"))
    }

    @Test func checkPrintsTheEffectiveSettings() throws {
        let path = try writeConfig("listeners: [{address: \"127.0.0.1:18998\"}]\nupstream: {url: \"http://127.0.0.1:8000\"}\nworkers: 2\n")
        let result = try run(["check", "--config", path])
        #expect(result.status == 0)
        #expect(result.stdout.contains("listener      127.0.0.1:18998"))
        #expect(result.stdout.contains("workers       2"))
        #expect(result.stdout.contains("connect 2.0 seconds") || result.stdout.contains("connect 2 seconds"))
    }

    @Test func checkPrintsTheRouteTableInOrder() throws {
        let path = try writeConfig("""
        listeners: [{address: "127.0.0.1:18998"}]
        upstream: {url: "http://127.0.0.1:8000"}
        auth:
          excluded_paths: [/healthz]
          issuers: [{issuer: "https://issuer.test/", jwks_url: "http://127.0.0.1:1/keys", audiences: [api://b]}]
          authorization: {required_roles: [Data.Read]}
        routes:
          - name: admin
            paths: [/admin/*]
            methods: [POST, DELETE]
            require: {roles: {all_of: [Admin]}, scopes: {any_of: [a, b]}, applications: [app-1]}
          - {paths: [/reports/*, /summary], methods: [GET], require: {roles: {any_of: [Reader, Auditor]}}}
          - {paths: [/public/*], auth: none}
        """)
        let result = try run(["check", "--config", path])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let start = try #require(lines.firstIndex { $0.hasPrefix("routes        first match wins") }, "\(result.stdout)")
        #expect(Array(lines[(start + 1)...].prefix(3)) == [
            "  1. admin      /admin/*  POST DELETE  require roles all of [Admin]; scopes any of [a, b]; applications [app-1]",
            "  2. routes[1]  /reports/* /summary  GET (+HEAD)  require roles any of [Reader, Auditor]",
            "  3. routes[2]  /public/*  every method  auth: none (no token; network rules still apply)",
        ])
        #expect(result.stdout.contains("  excluded    /healthz  no token (before any route)"))
        #expect(result.stdout.contains("  authorize   roles all of [Data.Read] (where no route matches)"))
    }

    @Test func busyPortFailsAtStartupWithANamedError() throws {
        let (holder, port) = Loopback.listen(backlog: 1)
        defer { close(holder) }
        let path = try writeConfig("listeners: [{address: \"127.0.0.1:\(port)\"}]\nupstream: {url: \"http://127.0.0.1:8000\"}\n")
        let result = try run(["serve", "--config", path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("listener 127.0.0.1:\(port): bind failed"))
    }

    @Test func versionPrints() throws {
        let result = try run(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0.1.0")
    }
}

@Suite("portcullis check --ip")
struct CheckIPTests {
    @Test func explainsWhichRuleDecides() throws {
        let cli = CLITests()
        let path = try cli.writeConfig("""
        listeners: [{address: "127.0.0.1:18997"}]
        upstream: {url: "http://127.0.0.1:8000"}
        network:
          rules:
            - {name: integration-subnet, priority: 100, action: allow, cidrs: [10.1.2.0/27]}
            - {name: known-bad, priority: 50, action: deny, cidrs: [10.1.2.7/32]}
        """)
        let denied = try cli.run(["check", "--config", path, "--ip", "10.1.2.7"])
        #expect(denied.status == 0)
        #expect(denied.stdout.hasPrefix("10.1.2.7: DENY by rule 'known-bad'"))
        #expect(denied.stdout.contains("matches integration-subnet (priority 100, allow)"))
        let other = try cli.run(["check", "--config", path, "--ip", "192.0.2.1"])
        #expect(other.stdout.hasPrefix("192.0.2.1: DENY by the default action"))
        let table = try cli.run(["check", "--config", path])
        #expect(table.stdout.contains("50       deny   known-bad: 10.1.2.7/32"))
        let bad = try cli.run(["check", "--config", path, "--ip", "10.1.2"])
        #expect(bad.status == 2)
    }

    @Test func aRuleErrorNamesTheRuleAndExitsBeforeListening() throws {
        let cli = CLITests()
        let path = try cli.writeConfig("""
        listeners: [{address: "127.0.0.1:18996"}]
        upstream: {url: "http://127.0.0.1:8000"}
        network: {rules: [{name: r1, priority: 1, action: allow, cidrs: [10.1.2.3/24]}]}
        """)
        let result = try cli.run(["serve", "--config", path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("'network.rules[0].cidrs[0]'"))
        #expect(result.stderr.contains("did you mean 10.1.2.0/24?"))
    }
}
