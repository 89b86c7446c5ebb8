import Foundation
import Testing

/// The README's first command runs `scripts/seed-demo.sh`: the whole A → B lockdown on one
/// machine. Its table is checked here row by row, with the binary under test.
@Suite("Seed scenario", .serialized)
struct SeedDemoTests {
    @Test func everyCallInTheDemoTableEndsAsTheREADMESays() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var output = ""
        var status: Int32 = -1
        // A free block of ports: the script refuses busy ones, so try a few bases.
        for attempt in 0..<4 where status != 0 {
            let base = 30_000 + Int(getpid() % 500) * 10 + attempt * 5_000
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = [root.appendingPathComponent("scripts/seed-demo.sh").path]
            var environment = ProcessInfo.processInfo.environment
            environment["CHECK"] = "1"
            environment["PORTCULLIS_BIN"] = CLITests.binary.path
            environment["PORT_BASE"] = String(base)
            process.environment = environment
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let deadline = Date().addingTimeInterval(120)
            var data = Data()
            while process.isRunning && Date() < deadline {
                usleep(50_000)
            }
            if process.isRunning { process.terminate() }
            data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            output = String(decoding: data, as: UTF8.self)
            status = process.terminationStatus
            if !output.contains("already in use") { break }
        }
        #expect(status == 0, "\(output)")
        for row in ["A's app -> A's egress sidecar -> B (token attached)", "straight to B, no token",
                    "X's token (allowed application, no Reader role)", "Z's token (Reader, not an allowed application)",
                    "A's token from 127.0.0.3 (quarantined address)", "A's token signed by a rotated key"] {
            #expect(output.contains(row), "missing row: \(row)")
        }
        #expect(output.contains("seed demo: every call as expected"), "\(output)")
    }
}
