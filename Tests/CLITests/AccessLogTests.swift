import Foundation
import TestSupport
import Testing

/// The access log as an operator reads it: JSON lines on stdout of the running binary.
@Suite("Access log", .serialized)
struct AccessLogTests {
    struct Setup {
        let directory: String
        let token: String
    }

    /// A P-256 key made by openssl, its JWKS for `jwks_file`, and a token minted with it.
    static func keys() throws -> Setup {
        let cli = CLITests()
        let directory = NSTemporaryDirectory() + "portcullis-log-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let key = directory + "/key.pem"
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]
        try openssl.run()
        openssl.waitUntilExit()
        let jwks = try cli.run(["jwks", "--key", key, "--kid", "k1"])
        try jwks.stdout.write(toFile: directory + "/jwks.json", atomically: true, encoding: .utf8)
        let exp = Int(Date().timeIntervalSince1970) + 3600
        let claims = "{\"iss\":\"https://issuer.test/\",\"aud\":\"api://b\",\"exp\":\(exp),\"appid\":\"app-123\",\"oid\":\"object-456\"}"
        let token = try cli.run(["token", "mint", "--key", key, "--kid", "k1", "--claims", claims])
        return Setup(directory: directory, token: token.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Runs the proxy with `log` settings, sends `requests`, stops it, returns its JSON lines.
    static func lines(log: String, requests: [String], extra: String = "") throws -> [[String: Any]] {
        let setup = try keys()
        defer { try? FileManager.default.removeItem(atPath: setup.directory) }
        let backendPort = ReloadTests.freePort(), port = ReloadTests.freePort()
        let path = setup.directory + "/portcullis.yaml"
        try """
        listeners: [{address: "127.0.0.1:\(port)"}]
        upstream: {url: "http://127.0.0.1:\(backendPort)"}
        workers: 1
        log: \(log)
        client_ip: {trusted_proxies: [127.0.0.0/8], header: x-forwarded-for}
        network:
          default_action: deny
          rules: [{name: loopback, priority: 1, action: allow, cidrs: [127.0.0.0/8, 192.0.2.0/24]}]
        auth:
          issuers: [{issuer: "https://issuer.test/", jwks_file: "\(setup.directory)/jwks.json", audiences: [api://b], algorithms: [ES256]}]
        \(extra)
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let backend = Process()
        backend.executableURL = CLITests.binary
        backend.arguments = ["backend", "--port", String(backendPort)]
        backend.standardOutput = FileHandle.nullDevice
        backend.standardError = FileHandle.nullDevice
        try backend.run()
        defer {
            backend.terminate()
            backend.waitUntilExit()
        }
        let proxy = Process()
        proxy.executableURL = CLITests.binary
        proxy.arguments = ["serve", "--config", path]
        let out = Pipe()
        proxy.standardOutput = out
        proxy.standardError = FileHandle.nullDevice
        try proxy.run()
        #expect(ReloadTests.waitFor(401, port: port, withinMillis: 10_000) != nil, "the proxy did not start")
        for request in requests {
            let text = request.replacingOccurrences(of: "$TOKEN", with: setup.token)
            _ = try RawClient.exchange(port: port, bytes: Array(text.utf8), responses: 1, halfClose: false)
        }
        proxy.terminate()
        proxy.waitUntilExit()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { ($0["path"] as? String) != "/probe" }
    }

    @Test func linesCarryWhoAndHowWithoutTheQueryOrTheToken() throws {
        let lines = try Self.lines(log: "{access: true}", requests: [
            "GET /orders?secret=1 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer $TOKEN\r\nConnection: close\r\n\r\n",
            "POST /upload HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer $TOKEN\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
            "GET /no-token HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 192.0.2.7\r\nConnection: close\r\n\r\n",
        ])
        let allowed = try #require(lines.first { ($0["path"] as? String) == "/orders" })
        #expect(allowed["status"] as? Int == 200)
        #expect(allowed["decision"] as? String == "forwarded")
        #expect(allowed["app_id"] as? String == "app-123")
        #expect(allowed["object_id"] as? String == "object-456")
        #expect(allowed["client_source"] as? String == "peer")
        #expect(allowed["protocol"] as? String == "http/1.1")
        #expect((allowed["upstream_us"] as? Int) != nil)
        #expect((allowed["bytes_in"] as? Int ?? 0) > 0)
        let upload = try #require(lines.first { ($0["path"] as? String) == "/upload" })
        let uploadIn = try #require(upload["bytes_in"] as? Int)
        #expect(uploadIn > 5, "head and body: \(uploadIn)")
        let refused = try #require(lines.first { ($0["path"] as? String) == "/no-token" })
        #expect(refused["status"] as? Int == 401)
        #expect(refused["reason"] as? String == "token_missing")
        #expect(refused["client"] as? String == "192.0.2.7")
        #expect(refused["client_source"] as? String == "x-forwarded-for")
        #expect(refused["upstream_us"] == nil && refused["app_id"] == nil)
        let everything = lines.map { "\($0)" }.joined()
        #expect(!everything.contains("secret=1"))
        #expect(!everything.contains("eyJ"), "a token reached the log")
    }

    @Test func samplingDropsAllowedLinesButNeverARefusal() throws {
        let lines = try Self.lines(log: "{access: true, access_sample: 0.0, access_query: true}", requests: [
            "GET /allowed?x=1 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer $TOKEN\r\nConnection: close\r\n\r\n",
            "GET /refused?y=2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        ])
        #expect(!lines.contains { ($0["path"] as? String)?.hasPrefix("/allowed") == true })
        #expect(lines.contains { ($0["path"] as? String) == "/refused?y=2" }, "\(lines)")
    }

    /// Which route decided, and a path that arrived spelled otherwise than it was judged: the
    /// line keeps the client's spelling and says it was normalized.
    @Test func linesNameTheRouteThatDecidedAndKeepTheClientsSpelling() throws {
        let lines = try Self.lines(log: "{access: true}", requests: [
            "GET /open/../admin/x HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer $TOKEN\r\nConnection: close\r\n\r\n",
            "GET /open/file HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
            "GET /elsewhere HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer $TOKEN\r\nConnection: close\r\n\r\n",
            "GET /open/%2e%2e/%2e%2e/etc HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        ], extra: """
        routes:
          - {name: admin, paths: [/admin/*], require: {roles: {any_of: [Admin, Operator]}}}
          - {name: open, paths: [/open/*], auth: none}
        """)
        let admin = try #require(lines.first { ($0["path"] as? String) == "/open/../admin/x" }, "\(lines)")
        #expect(admin["status"] as? Int == 403)
        #expect(admin["reason"] as? String == "missing_role")
        #expect(admin["route"] as? String == "admin")
        #expect(admin["path_normalized"] as? Bool == true)
        let open = try #require(lines.first { ($0["path"] as? String) == "/open/file" })
        #expect(open["status"] as? Int == 200)
        #expect(open["route"] as? String == "open")
        #expect(open["note"] as? String == "auth_none")
        #expect(open["path_normalized"] == nil)
        let elsewhere = try #require(lines.first { ($0["path"] as? String) == "/elsewhere" })
        #expect(elsewhere["status"] as? Int == 200)
        #expect(elsewhere["route"] == nil, "no route matched: auth.authorization decided")
        let climbing = try #require(lines.first { ($0["path"] as? String) == "/open/%2e%2e/%2e%2e/etc" })
        #expect(climbing["status"] as? Int == 400)
        #expect(climbing["reason"] as? String == "path_not_normalizable")
    }
}
