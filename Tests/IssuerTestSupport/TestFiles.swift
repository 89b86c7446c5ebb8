import Foundation

/// Key material and small files for the dev-issuer and token-source tests, made once per test
/// process by the openssl command line under the temporary directory: a client certificate (an
/// RSA key and its self-signed certificate), another for "the wrong certificate", and a TLS
/// certificate for 127.0.0.1. None of it is a real service's key.
public final class TestFiles: Sendable {
    public static let shared: TestFiles = {
        do {
            return try TestFiles()
        } catch {
            fatalError("cannot make the test key material with the openssl command: \(error)")
        }
    }()

    public let directory: String

    /// Service A's client certificate and key.
    public var clientCert: String { directory + "/client-a.crt" }
    public var clientKey: String { directory + "/client-a.key" }
    /// A certificate no client is registered with.
    public var otherCert: String { directory + "/other.crt" }
    public var otherKey: String { directory + "/other.key" }
    /// The https listener's certificate (127.0.0.1 and localhost) and key; the certificate is
    /// its own trust anchor.
    public var tlsCert: String { directory + "/tls.crt" }
    public var tlsKey: String { directory + "/tls.key" }

    struct CommandFailed: Error, CustomStringConvertible { let description: String }

    private init() throws {
        directory = NSTemporaryDirectory() + "portcullis-issuer-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try selfSigned("client-a", subject: "/CN=service-a", extensions: [])
        try selfSigned("other", subject: "/CN=someone-else", extensions: [])
        try selfSigned("tls", subject: "/CN=localhost", extensions: [
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:TRUE",
        ])
    }

    private func selfSigned(_ name: String, subject: String, extensions: [String]) throws {
        try Self.run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(directory)/\(name).key",
                      "-out", "\(directory)/\(name).crt", "-days", "2", "-subj", subject] + extensions)
    }

    /// Writes `text` to a new file in the directory and returns its path.
    public func write(_ name: String, _ text: String) throws -> String {
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Runs openssl, bounded: killed after 30 s.
    static func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw CommandFailed(description: "openssl \(arguments.joined(separator: " ")): \(text)")
        }
    }
}
