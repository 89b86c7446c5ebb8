import HTTP1
import Testing

/// The HTTP/1.1 front-door defects: an empty Host, loose chunk-size lines, unknown transfer
/// codings before `chunked`, and absolute-form targets. Each is checked where a user would look:
/// the status, and the exact bytes the backend received.
@Suite("HTTP/1.1 front-door defects", .serialized)
struct HTTP1DefectTests {
    /// The Host field lines of the first head the backend received, as sent.
    static func hostLines(_ received: String) -> [String] {
        let head = received.components(separatedBy: "\r\n\r\n").first ?? ""
        return head.components(separatedBy: "\r\n").filter { $0.lowercased().hasPrefix("host:") }
    }
}

// MARK: Host

extension HTTP1DefectTests {
    @Test(arguments: ["Host:", "Host:   ", "host: \t"])
    func emptyHostReachesTheBackendAsExactlyOneHost(_ field: String) throws {
        let harness = try Harness()
        let response = try harness.exchange("GET /e HTTP/1.1\r\n\(field)\r\nConnection: close\r\n\r\n")
        #expect(response.status == 200)
        let authority = "127.0.0.1:\(harness.backend.address.port)"
        // No authority from the client: the upstream's own, as for an HTTP/1.0 request without Host.
        #expect(harness.received == "GET /e HTTP/1.1\r\nHost: \(authority)\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n\r\n")
        #expect(Self.hostLines(harness.received) == ["Host: \(authority)"])
        #expect(!harness.received.lowercased().contains("x-forwarded-host"))
    }

    @Test func http10WithoutHostGetsTheUpstreamAuthorityOnce() throws {
        let harness = try Harness()
        let response = try harness.exchange("GET /old HTTP/1.0\r\n\r\n")
        #expect(response.status == 200)
        #expect(Self.hostLines(harness.received) == ["Host: 127.0.0.1:\(harness.backend.address.port)"])
        #expect(!harness.received.lowercased().contains("x-forwarded-host"))
    }

    @Test func aHostIsForwardedOnceAndRepeatedAsXForwardedHost() throws {
        let harness = try Harness()
        let response = try harness.exchange("GET /h HTTP/1.1\r\nX-A: 1\r\nHost: svc.example:8443\r\nX-B: 2\r\n\r\n")
        #expect(response.status == 200)
        #expect(harness.received == "GET /h HTTP/1.1\r\nHost: svc.example:8443\r\nX-A: 1\r\nX-B: 2\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: svc.example:8443\r\n\r\n")
        #expect(Self.hostLines(harness.received) == ["Host: svc.example:8443"])
    }
}
