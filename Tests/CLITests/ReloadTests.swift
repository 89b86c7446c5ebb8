import EventLoop
import Foundation
import Synchronization
import TestSupport
import Testing

/// Hot reload as an operator does it: the running binary, its config file rewritten in place,
/// renamed into place, or swapped the way Kubernetes updates a mounted ConfigMap, while a
/// client keeps sending requests on kept-alive connections.
@Suite("Hot reload", .serialized)
struct ReloadTests {
    /// A running `portcullis serve` and the demo backend behind it.
    final class Running {
        let backend = Process()
        let proxy = Process()
        let stderr = Pipe()
        let directory: String
        let backendPort: UInt16

        init(directory: String, configPath: String, backendPort: UInt16) throws {
            self.directory = directory
            self.backendPort = backendPort
            backend.executableURL = CLITests.binary
            backend.arguments = ["backend", "--port", String(backendPort)]
            backend.standardOutput = FileHandle.nullDevice
            backend.standardError = FileHandle.nullDevice
            try backend.run()
            proxy.executableURL = CLITests.binary
            proxy.arguments = ["serve", "--config", configPath]
            proxy.standardOutput = FileHandle.nullDevice
            proxy.standardError = stderr
            try proxy.run()
        }

        /// Stops the proxy with SIGTERM; returns its exit status and what it logged.
        func stop() -> (Int32, String) {
            proxy.terminate()
            let deadline = Date().addingTimeInterval(10)
            while proxy.isRunning && Date() < deadline { usleep(20_000) }
            if proxy.isRunning { kill(proxy.processIdentifier, SIGKILL) }
            proxy.waitUntilExit()
            backend.terminate()
            backend.waitUntilExit()
            let log = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            try? FileManager.default.removeItem(atPath: directory)
            return (proxy.terminationStatus, log)
        }
    }

    static func freePort() -> UInt16 {
        let (fd, port) = RawClient.bindEphemeral(listening: false)
        close(fd)
        return port
    }

    static func config(backend: UInt16, listeners: [UInt16], allow: Bool, generation: Int) -> String {
        """
        listeners: [\(listeners.map { "{address: \"127.0.0.1:\($0)\"}" }.joined(separator: ", "))]
        upstream: {url: "http://127.0.0.1:\(backend)"}
        workers: 2
        log: {access: false}
        timeouts: {idle: 30s, drain: 2s}
        network:
          default_action: deny
          rules: [{name: generation-\(generation), priority: 1, action: \(allow ? "allow" : "deny"), cidrs: [127.0.0.0/8]}]
        """
    }

    /// Status of one request on a new connection; nil when the connection failed.
    static func status(port: UInt16) -> Int? {
        try? RawClient.exchange(port: port, bytes: Array("GET /probe HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".utf8),
                                responses: 1, halfClose: false).status
    }

    /// Polls until `port` answers `expected` (bounded); returns the milliseconds it took, or nil.
    static func waitFor(_ expected: Int?, port: UInt16, withinMillis: Int64 = 5000) -> Int64? {
        let start = Sys.monotonicMillis()
        while Sys.monotonicMillis() - start < withinMillis {
            if status(port: port) == expected { return Sys.monotonicMillis() - start }
            usleep(20_000)
        }
        return nil
    }

    /// Requests on kept-alive connections for as long as `running` is set: every answer must
    /// be a 200 or a 403 (whichever rule is in effect), never a reset or a missing response.
    final class Load: @unchecked Sendable {
        // Unchecked: the counters are atomics; `thread` is touched by the test thread only.
        let sent = Atomic(0)
        let failed = Atomic(0)
        let running = Atomic(true)
        private var thread: Thread?
        let port: UInt16

        init(port: UInt16) {
            self.port = port
        }

        func start() {
            let thread = Thread { [self] in run() }
            self.thread = thread
            thread.start()
        }

        private func run() {
            var fd: Int32 = -1
            let request = Array("GET /load HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
            while running.load(ordering: .relaxed) {
                if fd < 0 {
                    guard let connected = try? RawClient.connect(port: port) else {
                        failed.add(1, ordering: .relaxed)
                        usleep(10_000)
                        continue
                    }
                    fd = connected
                }
                RawClient.send(fd, request)
                let response = RawClient.read(fd, responses: 1, settleMillis: 0)
                sent.add(1, ordering: .relaxed)
                if response.status != 200 && response.status != 403 {
                    failed.add(1, ordering: .relaxed)
                    Issue.record("load: \(response)")
                }
                if response.closed || response.status == nil || response.text.contains("Connection: close") {
                    close(fd)
                    fd = -1
                }
                usleep(2_000)
            }
            if fd >= 0 { close(fd) }
        }

        func stop() {
            running.store(false, ordering: .relaxed)
            while let thread, !thread.isFinished { usleep(10_000) }
        }
    }

    @Test func rewritesUnderLoadTakeEffectWithoutAFailedRequest() throws {
        let directory = NSTemporaryDirectory() + "portcullis-reload-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/portcullis.yaml"
        let backendPort = Self.freePort(), main = Self.freePort(), extra = Self.freePort()
        try Self.config(backend: backendPort, listeners: [main], allow: true, generation: 0)
            .write(toFile: path, atomically: false, encoding: .utf8)
        let running = try Running(directory: directory, configPath: path, backendPort: backendPort)
        #expect(Self.waitFor(200, port: main, withinMillis: 10_000) != nil, "the proxy did not start")
        let load = Load(port: main)
        load.start()

        var allow = true
        var slowest: Int64 = 0
        for generation in 1...20 {
            var listeners = [main]
            if (5..<12).contains(generation) { listeners.append(extra) }
            if generation == 9 {
                // Invalid: refused with a log line naming the key; the rules in effect stay.
                try "listeners: [{address: \"127.0.0.1:\(main)\"}]\nupstream: {url: \"http://127.0.0.1:\(backendPort)\"}\nworkers: 2\nnetwork: {rules: [{name: broken, priority: 1, action: maybe, cidrs: [127.0.0.0/8]}]}\n"
                    .write(toFile: path, atomically: generation % 2 == 0, encoding: .utf8)
                usleep(600_000)
                #expect(Self.status(port: main) == (allow ? 200 : 403), "an invalid file changed the rules")
                continue
            }
            allow.toggle()
            // Alternately written in place and renamed into place (as editors save).
            try Self.config(backend: backendPort, listeners: listeners, allow: allow, generation: generation)
                .write(toFile: path, atomically: generation % 2 == 0, encoding: .utf8)
            let took = Self.waitFor(allow ? 200 : 403, port: main)
            #expect(took != nil, "generation \(generation): the new rule was not seen in effect")
            slowest = max(slowest, took ?? 0)
            if generation == 5 {
                #expect(Self.waitFor(allow ? 200 : 403, port: extra) != nil, "the added listener does not serve")
            }
            if generation == 12 {
                #expect(Self.waitFor(nil, port: extra) != nil, "the removed listener still accepts")
            }
        }
        load.stop()
        let (status, log) = running.stop()
        #expect(load.failed.load(ordering: .relaxed) == 0)
        #expect(load.sent.load(ordering: .relaxed) > 100)
        #expect(status == 0, "\(log)")
        #expect(log.contains("not reloaded, the running configuration stays") && log.contains("network.rules[0].action"), "\(log)")
        #expect(slowest < 2000, "slowest reload took \(slowest) ms")
    }

    /// Kubernetes mounts a ConfigMap as a directory of symlinks and updates it by pointing
    /// `..data` at a new timestamped directory in one rename.
    @Test func aConfigMapStyleSymlinkSwapIsSeen() throws {
        let directory = NSTemporaryDirectory() + "portcullis-configmap-\(UUID().uuidString)"
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let backendPort = Self.freePort(), main = Self.freePort()
        func publish(_ generation: Int, allow: Bool) throws {
            let version = "..\(generation)_\(UUID().uuidString.prefix(8))"
            try fm.createDirectory(atPath: directory + "/" + version, withIntermediateDirectories: false)
            try Self.config(backend: backendPort, listeners: [main], allow: allow, generation: generation)
                .write(toFile: directory + "/" + version + "/portcullis.yaml", atomically: false, encoding: .utf8)
            try fm.createSymbolicLink(atPath: directory + "/..data_tmp", withDestinationPath: version)
            #expect(rename(directory + "/..data_tmp", directory + "/..data") == 0)
        }
        try publish(0, allow: true)
        try fm.createSymbolicLink(atPath: directory + "/portcullis.yaml", withDestinationPath: "..data/portcullis.yaml")
        let running = try Running(directory: directory, configPath: directory + "/portcullis.yaml", backendPort: backendPort)
        #expect(Self.waitFor(200, port: main, withinMillis: 10_000) != nil, "the proxy did not start")
        for generation in 1...3 {
            let allow = generation % 2 == 0
            try publish(generation, allow: allow)
            #expect(Self.waitFor(allow ? 200 : 403, port: main) != nil, "swap \(generation) was not seen")
        }
        let (status, log) = running.stop()
        #expect(status == 0, "\(log)")
    }
}
