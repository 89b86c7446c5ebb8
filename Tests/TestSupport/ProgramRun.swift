public import Foundation

/// A program run to its end, its output written to files rather than pipes (a pipe nobody
/// reads fills, and the program then blocks forever), and bounded: after `timeout` it gets
/// SIGTERM (a script's trap can clean up) and, `grace` seconds later, SIGKILL.
public struct ProgramRun: Sendable {
    public let status: Int32
    /// Standard output, with standard error interleaved unless `separateErrors`.
    public let output: String
    /// Standard error when `separateErrors`, else empty.
    public let errors: String

    /// Runs `arguments` through /usr/bin/env (so the first is looked up in PATH), in `directory`,
    /// with `environment` added to this process's.
    public init(_ arguments: [String], directory: URL? = nil, environment: [String: String] = [:],
                separateErrors: Bool = false, timeout: TimeInterval, grace: TimeInterval = 5) throws {
        let base = NSTemporaryDirectory() + "portcullis-run-\(UUID().uuidString)"
        let outURL = URL(fileURLWithPath: base + ".out"), errURL = URL(fileURLWithPath: base + ".err")
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        try Data().write(to: outURL)
        try Data().write(to: errURL)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        defer {
            try? out.close()
            try? err.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = separateErrors ? err : out
        try process.run()
        if !waitUntil(timeout, { !process.isRunning }) {
            process.terminate()
            if !waitUntil(grace, { !process.isRunning }) { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        status = process.terminationStatus
        output = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        errors = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
    }
}
