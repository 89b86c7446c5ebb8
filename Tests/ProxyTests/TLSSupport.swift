import Foundation

/// A throwaway PKI made by the openssl command line for the TLS tests: two CAs, server
/// certificates for two names, and client certificates with SPIFFE URIs. Nothing here is a real
/// service's key; the directory lives under the temporary directory for one test process.
final class TestPKI: Sendable {
    static let shared: TestPKI = {
        do {
            return try TestPKI()
        } catch {
            fatalError("cannot make the test PKI with the openssl command: \(error)")
        }
    }()

    let directory: String

    var caCert: String { directory + "/ca.crt" }
    var otherCACert: String { directory + "/other-ca.crt" }
    var serverCert: String { directory + "/localhost.crt" }
    var serverKey: String { directory + "/localhost.key" }
    /// localhost again, signed by the other CA (for reload tests).
    var otherServer: (cert: String, key: String) { (directory + "/localhost-other.crt", directory + "/localhost-other.key") }
    var secondCert: String { directory + "/second.crt" }
    var secondKey: String { directory + "/second.key" }
    /// uri:spiffe://cluster.local/ns/a/sa/service-a, signed by the CA.
    var clientA: (cert: String, key: String) { (directory + "/client-a.crt", directory + "/client-a.key") }
    /// uri:spiffe://cluster.local/ns/x/sa/service-x, signed by the CA.
    var clientX: (cert: String, key: String) { (directory + "/client-x.crt", directory + "/client-x.key") }
    /// Same identity as client A, signed by the other CA.
    var clientOtherCA: (cert: String, key: String) { (directory + "/client-o.crt", directory + "/client-o.key") }

    struct CommandFailed: Error, CustomStringConvertible { let description: String }

    private init() throws {
        directory = NSTemporaryDirectory() + "portcullis-pki-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try makeCA("ca", "Portcullis Test CA")
        try makeCA("other-ca", "Some Other CA")
        try issue("localhost", by: "ca", subject: "/CN=localhost", san: "DNS:localhost,IP:127.0.0.1", server: true)
        try issue("localhost-other", by: "other-ca", subject: "/CN=localhost", san: "DNS:localhost,IP:127.0.0.1", server: true)
        try issue("second", by: "ca", subject: "/CN=second.test", san: "DNS:second.test", server: true)
        try issue("client-a", by: "ca", subject: "/CN=service-a", san: "URI:spiffe://cluster.local/ns/a/sa/service-a", server: false)
        try issue("client-x", by: "ca", subject: "/CN=service-x", san: "URI:spiffe://cluster.local/ns/x/sa/service-x", server: false)
        try issue("client-o", by: "other-ca", subject: "/CN=service-a", san: "URI:spiffe://cluster.local/ns/a/sa/service-a", server: false)
    }

    private func makeCA(_ name: String, _ cn: String) throws {
        try Self.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                          "-keyout", "\(directory)/\(name).key", "-out", "\(directory)/\(name).crt",
                                          "-days", "2", "-subj", "/CN=\(cn)",
                                          "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    }

    private func issue(_ name: String, by ca: String, subject: String, san: String, server: Bool) throws {
        let base = "\(directory)/\(name)"
        try Self.run("/usr/bin/openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                          "-keyout", "\(base).key", "-out", "\(base).csr", "-subj", subject])
        let ext = "\(base).ext"
        try """
        subjectAltName=\(san)
        extendedKeyUsage=\(server ? "serverAuth" : "clientAuth")
        basicConstraints=CA:FALSE
        """.write(toFile: ext, atomically: true, encoding: .utf8)
        try Self.run("/usr/bin/openssl", ["x509", "-req", "-in", "\(base).csr", "-CA", "\(directory)/\(ca).crt",
                                          "-CAkey", "\(directory)/\(ca).key", "-CAcreateserial", "-out", "\(base).crt",
                                          "-days", "2", "-extfile", ext])
    }

    /// Runs a command; returns (exit status, stdout+stderr). Bounded: killed after 20 s.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String], input: String? = nil) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try? stdin.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(20)
        var data = Data()
        let reader = output.fileHandleForReading
        while process.isRunning && Date() < deadline {
            data.append(reader.availableData)
        }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        data.append(reader.readDataToEndOfFile())
        let text = String(decoding: data, as: UTF8.self)
        if tool.hasSuffix("openssl") && arguments.first != "s_client" && process.terminationStatus != 0 {
            throw CommandFailed(description: "openssl \(arguments.joined(separator: " ")): \(text)")
        }
        return (process.terminationStatus, text)
    }

    /// curl against the proxy: returns (exit status, HTTP status or 0, body).
    static func curl(_ arguments: [String]) throws -> (exit: Int32, status: Int, body: String) {
        let (code, text) = try run("/usr/bin/curl", ["-s", "-S", "--max-time", "5", "-w", "\n%{http_code}"] + arguments)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let status = Int(lines.last ?? "") ?? 0
        return (code, status, lines.dropLast().joined(separator: "\n"))
    }

    /// The certificate at `path` as base64 DER (what X-ARR-ClientCert must carry).
    static func base64DER(_ path: String) throws -> String {
        let pem = try String(contentsOfFile: path, encoding: .utf8)
        return pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
    }
}
