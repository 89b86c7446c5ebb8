import TestSupport
import Foundation

/// A Python server from Tests/ProxyTests/Fixtures on an ephemeral loopback port: started, waited
/// for (it prints "ready"; bounded), and killed when released.
final class PythonPeer {
    let process = Process()
    let port: UInt16

    static func fixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
    }

    /// `arguments` may contain "{port}", replaced by the port chosen.
    init(_ script: String, _ arguments: [String]) throws {
        let (fd, port) = RawClient.bindEphemeral(listening: false)
        close(fd)
        self.port = port
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.fixture(script)] + arguments.map { $0 == "{port}" ? String(port) : $0 }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(15)
        var seen = Data()
        while Date() < deadline, !String(decoding: seen, as: UTF8.self).contains("ready") {
            seen.append(out.fileHandleForReading.availableData)
        }
    }

    deinit {
        // SIGKILL: grpcio's threads can outlive a SIGTERM for a while.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
