import EventLoop
import Foundation
import Proxy
import Tokens
import TestSupport
import Testing

/// HTTP/2 to the client: h2c with prior knowledge and h2 by ALPN, each stream admitted on its
/// own, driven by curl (libcurl's nghttp2) and nghttp where a test needs raw control.
@Suite("HTTP/2 to the client", .serialized)
struct H2Tests {
    static let cleartext = ", protocols: [http/1.1, h2]"

    /// curl with extra output: the HTTP version, status and whether the connection was new.
    static func curl(_ arguments: [String]) throws -> (exit: Int32, version: String, status: Int, connects: Int, body: String) {
        let (code, text) = try TestPKI.run("/usr/bin/curl", ["-s", "-S", "--max-time", "5", "-w", "\n%{http_version} %{http_code} %{num_connects}"] + arguments)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let summary = lines.popLast().map(String.init) ?? ""
        let parts = summary.split(separator: " ")
        return (code, parts.first.map(String.init) ?? "", parts.count > 1 ? Int(parts[1]) ?? 0 : 0,
                parts.count > 2 ? Int(parts[2]) ?? -1 : -1, lines.joined(separator: "\n"))
    }

    @Test func h2cWithPriorKnowledgeReachesTheBackendAsHTTP11Would() throws {
        let harness = try Harness(listenerYAML: Self.cleartext)
        let result = try Self.curl(["--http2-prior-knowledge", "-H", "cookie: a=1", "-H", "cookie: b=2",
                                    "-H", "x-ms-client-principal-id: forged", "-H", "te: trailers",
                                    "http://127.0.0.1:\(harness.port)/h2/path?q=1"])
        #expect(result.exit == 0, "\(result)")
        #expect(result.version == "2")
        #expect(result.status == 200)
        let seen = harness.received
        #expect(seen.hasPrefix("GET /h2/path?q=1 HTTP/1.1\r\nHost: 127.0.0.1:\(harness.port)\r\n"), "\(seen)")
        #expect(seen.contains("cookie: a=1; b=2\r\n"))
        #expect(seen.contains("X-Forwarded-For: 127.0.0.1\r\n"))
        #expect(seen.contains("X-Forwarded-Proto: http\r\n"))
        #expect(!seen.lowercased().contains("x-ms-client-principal"))
        #expect(!seen.lowercased().contains("te: trailers"))
        #expect(seen.components(separatedBy: "\r\nHost: ").count == 2, "exactly one Host: \(seen)")
        // The same listener still speaks HTTP/1.1.
        let plain = try Self.curl(["--http1.1", "http://127.0.0.1:\(harness.port)/h1"])
        #expect(plain.version == "1.1" && plain.status == 200)
    }

    @Test func h2ByALPNOverTLS() throws {
        let pki = TestPKI.shared
        let harness = try Harness(listenerYAML: TLSTests.listener())
        let result = try Self.curl(["--http2", "--cacert", pki.caCert] + TLSTests.resolve(harness, "localhost") + [TLSTests.url(harness, "/secure")])
        #expect(result.exit == 0, "\(result)")
        #expect(result.version == "2")
        #expect(result.status == 200)
        #expect(harness.received.contains("X-Forwarded-Proto: https\r\n"))
        // A listener limited to http/1.1 does not offer h2.
        let only = try Harness(listenerYAML: TLSTests.listener() + ", protocols: [http/1.1]")
        let old = try Self.curl(["--http2", "--cacert", pki.caCert] + TLSTests.resolve(only, "localhost") + [TLSTests.url(only, "/secure")])
        #expect(old.version == "1.1" && old.status == 200, "\(old)")
    }

    @Test func onOneConnectionAStreamWithoutATokenIs401WhileOneWithATokenIs200() throws {
        let signer = try AuthTests.key()
        // Over TLS: curl 7.88 does not reuse an h2c prior-knowledge connection for a second
        // transfer (it fails on its side with "Error in the HTTP2 framing layer").
        let h2 = try Harness(extraYAML: try Self.authYAML(), listenerYAML: TLSTests.listener())
        let token = try AuthTests.token(signer)
        let url = TLSTests.url(h2, "/orders")
        let tls = ["--cacert", TestPKI.shared.caCert] + TLSTests.resolve(h2, "localhost")
        let (code, text) = try TestPKI.run("/usr/bin/curl", [
            "-s", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code} %{num_connects} %{http_version}\n"] + tls + [url,
            "--next", "-s", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code} %{num_connects} %{http_version}\n",
            "-H", "Authorization: Bearer \(token)"] + tls + [url])
        #expect(code == 0, "\(text)")
        let lines = text.split(separator: "\n")
        #expect(lines.count == 2, "\(text)")
        #expect(lines.first == "401 1 2", "\(text)")
        // The second request went on the same connection (no new connect).
        #expect(lines.last == "200 0 2", "\(text)")
        #expect(h2.receivedCount > 0)
        #expect(h2.received.components(separatedBy: "GET /orders").count == 2, "only the allowed stream reached the backend")
        #expect(h2.received.contains("X-MS-CLIENT-PRINCIPAL-ID: oid-1\r\n"))
    }

    static func authYAML() throws -> String {
        let signer = try AuthTests.key()
        let path = NSTemporaryDirectory() + "portcullis-jwks-\(UUID().uuidString).json"
        try JSONValue.object([("keys", .array([signer.publicJWK(kid: "k1")]))]).serialized.write(toFile: path, atomically: true, encoding: .utf8)
        return """
        auth:
          issuers:
            - {issuer: "\(AuthTests.issuer)", jwks_file: "\(path)", audiences: [api://service-b], algorithms: [ES256]}
          authorization:
            required_roles: [Data.Read]
        """
    }

    @Test func refusedStreamsGetHTTPAnswersOrGRPCStatuses() throws {
        let denied = try Harness(extraYAML: """
        network:
          default_action: allow
          rules: [{name: no-loopback, priority: 1, action: deny, cidrs: [127.0.0.0/8]}]
        """, listenerYAML: Self.cleartext)
        let url = "http://127.0.0.1:\(denied.port)/svc.Greeter/Hello"
        let plain = try Self.curl(["--http2-prior-knowledge", url])
        #expect(plain.status == 403)
        #expect(plain.body.contains("forbidden"))
        let grpc = try TestPKI.run("/usr/bin/curl", ["-s", "--max-time", "5", "--http2-prior-knowledge", "-D", "-", "-o", "/dev/null",
                                                      "-H", "content-type: application/grpc", "-H", "te: trailers", "--data-binary", "", url])
        #expect(grpc.1.contains("HTTP/2 200"), "\(grpc.1)")
        #expect(grpc.1.contains("grpc-status: 7"), "PERMISSION_DENIED expected: \(grpc.1)")
        #expect(denied.receivedCount == 0)

        let tokens = try Harness(extraYAML: try Self.authYAML(), listenerYAML: Self.cleartext)
        let unauthenticated = try TestPKI.run("/usr/bin/curl", ["-s", "--max-time", "5", "--http2-prior-knowledge", "-D", "-", "-o", "/dev/null",
                                                                "-H", "content-type: application/grpc+proto", "--data-binary", "",
                                                                "http://127.0.0.1:\(tokens.port)/svc.Greeter/Hello"])
        #expect(unauthenticated.1.contains("grpc-status: 16"), "UNAUTHENTICATED expected: \(unauthenticated.1)")
        #expect(tokens.receivedCount == 0)

        let (fd, refusedPort) = RawClient.bindEphemeral(listening: false)
        defer { close(fd) }
        let down = try Harness(upstreamPort: refusedPort, listenerYAML: Self.cleartext)
        #expect(try Self.curl(["--http2-prior-knowledge", "http://127.0.0.1:\(down.port)/x"]).status == 502)
        let unavailable = try TestPKI.run("/usr/bin/curl", ["-s", "--max-time", "5", "--http2-prior-knowledge", "-D", "-", "-o", "/dev/null",
                                                            "-H", "content-type: application/grpc", "--data-binary", "", "http://127.0.0.1:\(down.port)/x"])
        #expect(unavailable.1.contains("grpc-status: 14"), "UNAVAILABLE expected: \(unavailable.1)")
    }

    @Test func largeBodiesStreamBothWaysWithFlowControl() throws {
        let body = NSTemporaryDirectory() + "portcullis-h2-body-\(UUID().uuidString)"
        try Data(repeating: 0x62, count: 3_000_000).write(to: URL(fileURLWithPath: body))
        let pki = TestPKI.shared
        let cleartext = try Harness(listenerYAML: Self.cleartext)
        let tls = try Harness(listenerYAML: TLSTests.listener())
        let targets: [(Harness, [String], String)] = [
            (cleartext, ["--http2-prior-knowledge"], "http://127.0.0.1:\(cleartext.port)"),
            (tls, ["--http2", "--cacert", pki.caCert] + TLSTests.resolve(tls, "localhost"), "https://localhost:\(tls.port)"),
        ]
        for (harness, options, base) in targets {
            let up = try Self.curl(options + ["--data-binary", "@\(body)", base + "/upload"])
            #expect(up.version == "2" && up.status == 200, "\(up)")
            #expect(up.body.contains("\"body_bytes\":3000000"), "\(up.body.prefix(200))")
            // No content-length: the body goes upstream chunked (the echo backend holds a chunked
            // body whole, so this one is smaller).
            let small = NSTemporaryDirectory() + "portcullis-h2-small-\(UUID().uuidString)"
            try Data(repeating: 0x63, count: 200_000).write(to: URL(fileURLWithPath: small))
            let (chunkedCode, chunkedText) = try TestPKI.run("/usr/bin/nghttp", ["--no-content-length", "-d", small]
                + [base.replacingOccurrences(of: "localhost", with: "127.0.0.1") + "/put"])
            #expect(chunkedCode == 0 && chunkedText.contains("\"body_bytes\":200000"), "\(chunkedText.prefix(300))")
            #expect(harness.received.contains("Transfer-Encoding: chunked\r\n"))
            let down = try Self.curl(options + [base + "/bytes/5000000"])
            #expect(down.status == 200 && down.body.utf8.count == 5_000_000, "\(down.body.utf8.count) bytes")
            #expect(ConnectionLifetimeTests.settle(harness) == 0)
        }
    }

    @Test func manyStreamsOnOneConnectionEachGetTheirOwnAnswer() throws {
        let harness = try Harness(listenerYAML: Self.cleartext)
        // nghttp opens all of them at once on one connection.
        let urls = (0..<40).map { "http://127.0.0.1:\(harness.port)/bytes/\(1000 + $0)" }
        let (code, text) = try TestPKI.run("/usr/bin/nghttp", ["-ns", "-t", "10"] + urls)
        #expect(code == 0, "\(text)")
        let done = text.split(separator: "\n").filter { $0.contains(" 200 ") }
        #expect(done.count == 40, "\(text)")
        #expect(ConnectionLifetimeTests.settle(harness) == 0)
    }
}

/// HTTP/2 connections leave nothing behind either, and a drain lets streams in flight finish.
@Suite("HTTP/2 connection lifetimes", .serialized)
struct H2LifetimeTests {
    @Test func h2ConnectionsOfEveryEndingLeaveNothing() throws {
        let harness = try Harness(extraYAML: """
        network:
          default_action: allow
          rules: [{name: denied, priority: 1, action: deny, cidrs: [127.0.0.3/32]}]
        """, listenerYAML: H2Tests.cleartext)
        let url = "http://127.0.0.1:\(harness.port)"
        func pass() throws {
            for _ in 0..<30 {
                #expect(try H2Tests.curl(["--http2-prior-knowledge", url + "/a"]).status == 200)
            }
            for _ in 0..<10 {
                // Refused on the stream, from a denied address.
                #expect(try H2Tests.curl(["--http2-prior-knowledge", "--interface", "127.0.0.3", url + "/denied"]).status == 403)
            }
            let urls = (0..<20).map { url + "/bytes/\(2000 + $0)" }
            for _ in 0..<5 {
                let (code, _) = try TestPKI.run("/usr/bin/nghttp", ["-n", "-t", "10"] + urls)
                #expect(code == 0)
            }
            for _ in 0..<5 {
                // The client goes away in the middle of a large response.
                _ = try TestPKI.run("/usr/bin/curl", ["-s", "--http2-prior-knowledge", "--max-time", "0.2", "--limit-rate", "1M",
                                                      "-o", "/dev/null", url + "/bytes/20000000"])
            }
        }
        let grown = try ConnectionLifetimeTests.steadyGrowth(harness, bound: 1_000_000) {
            try pass()
            #expect(ConnectionLifetimeTests.settle(harness) == 0)
        }
        #expect(grown < 1_000_000, "heap grew by \(grown) bytes over a pass of HTTP/2 connections")
        #expect(harness.server.live.upstreamConnections <= 64)
    }

    @Test func aDrainLetsTheStreamInFlightFinish() throws {
        let harness = try Harness(listenerYAML: H2Tests.cleartext)
        let output = NSTemporaryDirectory() + "portcullis-h2-drain-\(UUID().uuidString)"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "--http2-prior-knowledge", "--max-time", "10", "--limit-rate", "8M", "-o", output,
                             "http://127.0.0.1:\(harness.port)/bytes/4000000"]
        try process.run()
        usleep(150_000)
        // Shutting down while the download is under way: GOAWAY, and the stream completes.
        let shutdown = Thread(server: harness.server)
        shutdown.join()
        process.waitUntilExit()
        let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
        #expect(size == 4_000_000, "\(size ?? -1) bytes arrived")
        #expect(harness.server.live.clientConnections == 0)
    }
}
