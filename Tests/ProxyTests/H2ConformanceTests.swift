import EventLoop
import Foundation
import Proxy
import Testing

/// HTTP/2 conformance in the spirit of h2spec (which cannot be installed here): each case is a
/// handful of hand-built frames sent by `Fixtures/h2conformance.py` to an h2c listener after the
/// SETTINGS handshake, and the test asserts what h2spec would — the error code of the GOAWAY or
/// RST_STREAM the proxy answers with — and then what an operator would: a malformed request
/// never reaches the backend, a stream error leaves the connection usable, and the proxy goes
/// on serving a well-formed client.
///
/// Sections are RFC 9113's (HTTP/2) unless marked HPACK (RFC 7541). Where RFC 9113 asks for a
/// stream error, a GOAWAY with the same code passes too: §5.4.1 lets an endpoint treat any
/// stream error as a connection error (nghttp2 does for some).
@Suite("HTTP/2 conformance", .serialized)
struct H2ConformanceTests {
    static let h2c = ", protocols: [http/1.1, h2]"

    /// RFC 9113 §7.
    enum Code: Int, Sendable, CustomStringConvertible {
        case noError = 0, protocolError, internalError, flowControlError, settingsTimeout, streamClosed, frameSizeError,
             refusedStream, cancel, compressionError
        var description: String { "\(rawValue)" }
    }

    enum Expect: Sendable {
        /// GOAWAY with this code, then the connection closes.
        case connectionError(Code)
        /// RST_STREAM on `stream` with one of `codes` (or GOAWAY with one of them, §5.4.1).
        case streamError(stream: Int, codes: [Code])
        /// §8.1.1: RST_STREAM(PROTOCOL_ERROR) on stream 1, the connection still answers a PING,
        /// and the backend received nothing at all.
        case malformed
        /// A control case: stream 1 is answered 200 and the connection stays usable.
        case served
        /// Checked by name in ``check(_:_:_:)``.
        case special
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let section: String
        let expect: Expect
        init(_ name: String, _ section: String, _ expect: Expect) {
            self.name = name
            self.section = section
            self.expect = expect
        }
        var testDescription: String { "\(section) \(name)" }
    }

    static let connectionErrors: [Case] = [
        Case("data-larger-than-max-frame-size", "§4.2", .connectionError(.frameSizeError)),
        Case("headers-larger-than-max-frame-size", "§4.2", .connectionError(.frameSizeError)),
        Case("data-on-idle-stream", "§5.1", .connectionError(.protocolError)),
        Case("headers-on-even-stream", "§5.1.1", .connectionError(.protocolError)),
        Case("decreasing-stream-id", "§5.1.1", .connectionError(.protocolError)),
        Case("priority-on-stream-zero", "§6.3", .connectionError(.protocolError)),
        Case("rst-stream-on-idle-stream", "§6.4", .connectionError(.protocolError)),
        Case("rst-stream-on-stream-zero", "§6.4", .connectionError(.protocolError)),
        Case("rst-stream-bad-length", "§6.4", .connectionError(.frameSizeError)),
        Case("settings-bad-length", "§6.5", .connectionError(.frameSizeError)),
        Case("settings-ack-with-payload", "§6.5", .connectionError(.frameSizeError)),
        Case("settings-on-a-stream", "§6.5", .connectionError(.protocolError)),
        Case("settings-enable-push-2", "§6.5.2", .connectionError(.protocolError)),
        Case("settings-initial-window-above-max", "§6.5.2", .connectionError(.flowControlError)),
        Case("settings-max-frame-size-below-min", "§6.5.2", .connectionError(.protocolError)),
        Case("settings-max-frame-size-above-max", "§6.5.2", .connectionError(.protocolError)),
        Case("ping-bad-length", "§6.7", .connectionError(.frameSizeError)),
        Case("ping-on-a-stream", "§6.7", .connectionError(.protocolError)),
        Case("goaway-on-a-stream", "§6.8", .connectionError(.protocolError)),
        Case("window-update-zero-on-connection", "§6.9", .connectionError(.protocolError)),
        Case("window-update-bad-length", "§6.9", .connectionError(.frameSizeError)),
        Case("window-overflow-on-connection", "§6.9.1", .connectionError(.flowControlError)),
        Case("header-block-interrupted", "§6.10", .connectionError(.protocolError)),
        Case("continuation-without-headers", "§6.10", .connectionError(.protocolError)),
        Case("hpack-invalid-index", "HPACK §2.3.3", .connectionError(.compressionError)),
        Case("hpack-index-zero", "HPACK §6.1", .connectionError(.compressionError)),
        Case("hpack-table-size-update-after-field", "HPACK §4.2", .connectionError(.compressionError)),
        Case("hpack-table-size-update-above-setting", "HPACK §6.3", .connectionError(.compressionError)),
    ]

    static let streamErrors: [Case] = [
        Case("data-on-half-closed-remote-stream", "§5.1", .streamError(stream: 1, codes: [.streamClosed])),
        Case("data-on-closed-stream", "§5.1", .streamError(stream: 1, codes: [.streamClosed])),
        Case("data-after-client-reset", "§5.1", .streamError(stream: 1, codes: [.streamClosed])),
        Case("headers-after-client-reset", "§5.1", .streamError(stream: 1, codes: [.streamClosed])),
        // Stream 201 is the 101st, one past the SETTINGS_MAX_CONCURRENT_STREAMS announced (100).
        Case("more-streams-than-max-concurrent", "§5.1.2", .streamError(stream: 201, codes: [.refusedStream, .protocolError])),
        Case("priority-bad-length", "§6.3", .streamError(stream: 1, codes: [.frameSizeError])),
        Case("window-update-zero-on-stream", "§6.9", .streamError(stream: 1, codes: [.protocolError])),
        Case("window-overflow-on-stream", "§6.9.1", .streamError(stream: 1, codes: [.flowControlError])),
    ]

    static let malformedRequests: [Case] = [
        Case("missing-method", "§8.3.1", .malformed),
        Case("missing-path", "§8.3.1", .malformed),
        Case("missing-scheme", "§8.3.1", .malformed),
        Case("empty-path", "§8.3.1", .malformed),
        Case("duplicate-method", "§8.3.1", .malformed),
        Case("duplicate-path", "§8.3.1", .malformed),
        Case("unknown-pseudo-header", "§8.3", .malformed),
        Case("response-pseudo-header-in-request", "§8.3", .malformed),
        Case("pseudo-header-after-regular", "§8.3", .malformed),
        Case("uppercase-header-name", "§8.2.1", .malformed),
        Case("connection-keep-alive", "§8.2.2", .malformed),
        Case("keep-alive-header", "§8.2.2", .malformed),
        Case("proxy-connection-header", "§8.2.2", .malformed),
        Case("transfer-encoding-chunked", "§8.2.2", .malformed),
        Case("upgrade-header", "§8.2.2", .malformed),
        Case("te-other-than-trailers", "§8.2.2", .malformed),
        Case("content-length-above-data", "§8.1.1", .malformed),
        Case("content-length-below-data", "§8.1.1", .malformed),
        Case("content-length-with-no-data", "§8.1.1", .malformed),
    ]

    static let wellFormed: [Case] = [
        Case("unknown-frame-type-ignored", "§5.5", .served),
        Case("settings-unknown-id-ignored", "§6.5.2", .served),
        Case("te-trailers-allowed", "§8.2.2", .served),
        Case("content-length-matching-data", "§8.1.1", .served),
        Case("hpack-static-table-request", "HPACK §2.3.1", .served),
        Case("ping-acked-with-same-payload", "§6.7", .special),
        Case("goaway-from-client", "§6.8", .special),
        Case("trailers-on-an-earlier-stream", "§5.1.1", .special),
        Case("settings-initial-window-overflows-stream", "§6.9.2", .special),
    ]

    /// What the client saw (the script's JSON report).
    struct Report: CustomStringConvertible {
        let raw: String
        let goaway: Int?
        let closed: Bool
        let resets: [String: Int]
        let statuses: [String: Int]
        let pingAcks: [String]
        let handshake: Bool
        let alive: Bool
        var description: String { raw }
    }

    struct ScriptFailed: Error, CustomStringConvertible { let description: String }

    static var script: String {
        get throws {
            guard let url = Bundle.module.url(forResource: "Fixtures/h2conformance", withExtension: "py") else {
                throw ScriptFailed(description: "Fixtures/h2conformance.py is not in the test bundle")
            }
            return url.path
        }
    }

    /// Runs one case against `port`; bounded by `timeout 20` (and the script's own deadline).
    static func run(_ port: UInt16, _ name: String) throws -> Report {
        let (status, text) = try TestPKI.run("/usr/bin/timeout", ["20", "python3", try script, String(port), name])
        guard status == 0, let line = text.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw ScriptFailed(description: "h2conformance.py \(name) exited \(status): \(text)")
        }
        return Report(raw: String(line), goaway: object["goaway"] as? Int, closed: object["closed"] as? Bool ?? false,
                      resets: object["resets"] as? [String: Int] ?? [:], statuses: object["statuses"] as? [String: Int] ?? [:],
                      pingAcks: object["ping_acks"] as? [String] ?? [], handshake: object["handshake"] as? Bool ?? false,
                      alive: object["alive"] as? Bool ?? false)
    }

    /// Every case the script knows has a test here, and every test a case there.
    @Test func everyScriptedCaseIsCovered() throws {
        let (status, text) = try TestPKI.run("/usr/bin/timeout", ["20", "python3", try Self.script, "--list"])
        #expect(status == 0, "\(text)")
        let scripted = Set(text.split(separator: "\n").map(String.init))
        let tested = Set((Self.connectionErrors + Self.streamErrors + Self.malformedRequests + Self.wellFormed).map(\.name))
        #expect(scripted == tested, "only scripted: \(scripted.subtracting(tested)), only tested: \(tested.subtracting(scripted))")
    }

    @Test("Connection errors: GOAWAY with the code, then the connection closes", arguments: connectionErrors)
    func connectionError(_ c: Case) throws { try Self.verify(c) }

    @Test("Stream errors: RST_STREAM with the code", arguments: streamErrors)
    func streamError(_ c: Case) throws { try Self.verify(c) }

    @Test("Malformed requests: RST_STREAM(PROTOCOL_ERROR), never a 200, never forwarded", arguments: malformedRequests)
    func malformedRequest(_ c: Case) throws { try Self.verify(c) }

    /// The same malformed requests after a first request left a connected upstream in the
    /// pool: the stream's head would be written at once, so it must wait until the frames
    /// that arrived with it (the DATA that contradicts its content-length) are judged.
    @Test("Malformed requests are not forwarded on a pooled upstream either", arguments: malformedRequests)
    func malformedRequestWithAWarmPool(_ c: Case) throws {
        let harness = try Harness(listenerYAML: Self.h2c)
        let warm = try TestPKI.curl(["--http2-prior-knowledge", "http://127.0.0.1:\(harness.port)/warm"])
        try #require(warm.exit == 0 && warm.status == 200, "\(warm)")
        try #require(harness.server.live.upstreamConnections == 1, "no pooled upstream connection")
        let before = harness.receivedCount
        let report = try Self.run(harness.port, c.name)
        try #require(report.handshake, "the SETTINGS handshake did not complete: \(report)")
        Self.check(c, report, harness, forwardedBefore: before)
        try Self.expectProxyStillServes(harness, c)
    }

    @Test("Well-formed and ignorable frames are served", arguments: wellFormed)
    func wellFormedTraffic(_ c: Case) throws { try Self.verify(c) }

    static func verify(_ c: Case) throws {
        let harness = try Harness(listenerYAML: h2c)
        let report = try run(harness.port, c.name)
        try #require(report.handshake, "the SETTINGS handshake did not complete: \(report)")
        check(c, report, harness)
        try expectProxyStillServes(harness, c)
    }

    static func check(_ c: Case, _ report: Report, _ harness: Harness, forwardedBefore: Int = 0) {
        switch c.expect {
        case .connectionError(let code):
            #expect(report.goaway == code.rawValue, "\(c.testDescription): expected GOAWAY(\(code)): \(report)")
            #expect(report.closed, "\(c.testDescription): the connection stayed open after GOAWAY: \(report)")
            #expect(report.statuses.isEmpty, "\(c.testDescription): \(report)")
        case .streamError(let stream, let codes):
            let codes = codes.map(\.rawValue)
            if let goaway = report.goaway {
                #expect(codes.contains(goaway), "\(c.testDescription): expected \(codes), got GOAWAY(\(goaway)): \(report)")
            } else {
                #expect(report.resets[String(stream)].map(codes.contains) == true,
                        "\(c.testDescription): expected RST_STREAM(\(codes)) on stream \(stream): \(report)")
                #expect(report.alive, "\(c.testDescription): the connection is unusable after a stream error: \(report)")
            }
        case .malformed:
            #expect(report.resets["1"] == Code.protocolError.rawValue, "\(c.testDescription): expected RST_STREAM(1) on stream 1: \(report)")
            #expect(report.statuses.isEmpty, "\(c.testDescription): a malformed request was answered: \(report)")
            #expect(report.goaway == nil && report.alive, "\(c.testDescription): a stream error cost the connection: \(report)")
            // Anything forwarded would be on its way by now: give it a moment to arrive.
            usleep(100_000)
            #expect(harness.receivedCount == forwardedBefore, "\(c.testDescription): forwarded: \(harness.received.debugDescription)")
        case .served:
            #expect(report.statuses == ["1": 200] && report.resets.isEmpty, "\(c.testDescription): \(report)")
            #expect(report.goaway == nil && report.alive, "\(c.testDescription): \(report)")
            #expect(harness.received.hasPrefix("GET /conformance HTTP/1.1\r\n") || harness.received.hasPrefix("POST /conformance HTTP/1.1\r\n")
                    || harness.received.hasPrefix("GET / HTTP/1.1\r\n"), "\(c.testDescription): \(harness.received.debugDescription)")
        case .special:
            checkSpecial(c, report, harness)
        }
    }

    static func checkSpecial(_ c: Case, _ report: Report, _ harness: Harness) {
        switch c.name {
        case "ping-acked-with-same-payload":
            // The ACK carries the PING's 8 bytes back unchanged.
            #expect(report.pingAcks.first == Array("h2spec\u{0}\u{1}".utf8).map { String(format: "%02x", $0) }.joined(), "\(report)")
            #expect(report.goaway == nil && report.alive, "\(report)")
        case "goaway-from-client":
            // The request sent with the GOAWAY is still answered; the proxy owes no error, and
            // then the connection ends (the client will open no more streams).
            #expect(report.statuses == ["1": 200], "\(report)")
            #expect(report.goaway == nil || report.goaway == Code.noError.rawValue, "\(report)")
            #expect(report.closed, "\(report)")
        case "trailers-on-an-earlier-stream":
            // Only new streams must use higher ids: trailers on an open lower stream are fine
            // (the proxy's check for reused ids must not catch them).
            #expect(report.statuses == ["1": 200, "3": 200] && report.resets.isEmpty, "\(report)")
            #expect(report.goaway == nil && report.alive, "\(report)")
        case "settings-initial-window-overflows-stream":
            // RFC 9113 §6.9.2 asks for a connection error FLOW_CONTROL_ERROR. nghttp2 resets the
            // streams whose window would overflow instead, with that code.
            if let goaway = report.goaway {
                #expect(goaway == Code.flowControlError.rawValue, "\(report)")
            } else {
                #expect(report.resets["1"] == Code.flowControlError.rawValue, "\(report)")
            }
        default:
            Issue.record("no check for \(c.name)")
        }
    }

    /// After any case: that client's connection ends, and a fresh HTTP/2 client is served.
    static func expectProxyStillServes(_ harness: Harness, _ c: Case, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let alive = ConnectionLifetimeTests.settle(harness)
        #expect(alive == 0, "\(c.testDescription): \(alive) client connections still alive", sourceLocation: sourceLocation)
        let h2 = try TestPKI.curl(["--http2-prior-knowledge", "http://127.0.0.1:\(harness.port)/after"])
        #expect(h2.exit == 0 && h2.status == 200, "\(c.testDescription): HTTP/2 client afterwards: \(h2)", sourceLocation: sourceLocation)
    }
}
