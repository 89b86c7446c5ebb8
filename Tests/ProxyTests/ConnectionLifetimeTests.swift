import EventLoop
import Foundation
import Proxy
import TestSupport
import Testing
import Tokens
#if canImport(Glibc)
import Glibc
#endif

/// A closed connection leaves nothing: every way a connection can end, thousands of times, and
/// then no connection object is alive and the heap is back where it was.
///
/// The proxy's own timeouts here are far longer than the waits, so a connection kept alive by a
/// timer, a table slot or a cycle shows as a live count that does not return to zero in time.
@Suite("Connection lifetimes", .serialized)
struct ConnectionLifetimeTests {
    static let perEnding = 1500

    static func lockedDownHarness(timeouts: String = "{request_header: 30s, idle: 30s, drain: 1s}",
                                  responseTimeout: String = "30s", upstreamPort: UInt16? = nil) throws -> Harness {
        let signer = try AuthTests.key()
        let path = NSTemporaryDirectory() + "portcullis-jwks-\(UUID().uuidString).json"
        try JSONValue.object([("keys", .array([signer.publicJWK(kid: "k1")]))]).serialized.write(toFile: path, atomically: true, encoding: .utf8)
        return try Harness(upstreamPort: upstreamPort, extraYAML: """
        limits: {max_header_bytes: 4096}
        network:
          default_action: deny
          rules:
            - {name: denied, priority: 10, action: deny, cidrs: [127.0.0.3/32]}
            - {name: loopback, priority: 20, action: allow, cidrs: [127.0.0.0/8]}
        auth:
          excluded_paths: [/open/*]
          issuers:
            - {issuer: "\(AuthTests.issuer)", jwks_file: "\(path)", audiences: [api://service-b], algorithms: [ES256]}
        """, timeouts: timeouts, responseTimeout: responseTimeout, recording: false)
    }

    /// Waits (bounded) until no client connection object of `harness` is alive.
    static func settle(_ harness: Harness, within millis: Int64 = 3000) -> Int {
        let deadline = Sys.monotonicMillis() + millis
        while harness.server.live.clientConnections > 0 && Sys.monotonicMillis() < deadline { usleep(5_000) }
        return harness.server.live.clientConnections
    }

    static func heapInUse() -> Int {
        Sys.heapBytesInUse()
    }

    /// The smallest heap growth (pooled buffers excluded) over up to `passes` runs of `pass`,
    /// after one warm-up run. Other suites run in parallel and allocate too, so one reading can
    /// be off either way; a leak grows on every pass and shows in the smallest reading as well.
    static func steadyGrowth(_ harness: Harness, passes: Int = 3, bound: Int, _ pass: () throws -> Void) rethrows -> Int {
        try pass()
        _ = settle(harness)
        var smallest = Int.max
        for _ in 0..<passes {
            let before = heapInUse() - harness.server.pooledBufferBytes
            try pass()
            _ = settle(harness)
            smallest = min(smallest, heapInUse() - harness.server.pooledBufferBytes - before)
            if smallest < bound { break }
        }
        return smallest
    }

    @Test func everyWayAConnectionEndsLeavesNoConnectionAlive() throws {
        let harness = try Self.lockedDownHarness()
        let port = harness.port
        let endings: [(String, () throws -> Void)] = [
            ("client FIN after the response", { try Churn.oneRequest(port: port, "GET /open/x HTTP/1.1\r\nHost: a\r\n\r\n", expect: 200) }),
            ("client RST after the response", { try Churn.oneRequest(port: port, "GET /open/x HTTP/1.1\r\nHost: a\r\n\r\n", expect: 200, reset: true) }),
            ("Connection: close", { try Churn.oneRequest(port: port, "GET /open/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", expect: 200, untilClose: true) }),
            ("half-close after the request", { try Churn.oneRequest(port: port, "GET /open/x HTTP/1.1\r\nHost: a\r\n\r\n", expect: 200, halfClose: true, untilClose: true) }),
            ("body on a kept-alive connection", {
                try Churn.oneRequest(port: port, "POST /open/x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /open/y HTTP/1.1\r\nHost: a\r\n\r\n", expect: 200, responses: 2)
            }),
            ("400 malformed", { try Churn.oneRequest(port: port, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", expect: 400, untilClose: true) }),
            ("431 head too large", { try Churn.oneRequest(port: port, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: \(String(repeating: "a", count: 5000))\r\n\r\n", expect: 431, untilClose: true) }),
            ("401 no token", { try Churn.oneRequest(port: port, "GET /api HTTP/1.1\r\nHost: a\r\n\r\n", expect: 401) }),
            ("403 denied address", { try Churn.oneRequest(port: port, "GET /open/x HTTP/1.1\r\nHost: a\r\n\r\n", expect: 403, source: "127.0.0.3") }),
            ("connect and close", { try Churn.oneRequest(port: port, nil, expect: nil) }),
            ("half a head, then close", { try Churn.oneRequest(port: port, "GET /open/x HTTP/1.1\r\nHo", expect: nil) }),
            ("half a request line, then close", { try Churn.oneRequest(port: port, "GET /open/x HTTP/1.", expect: nil) }),
            ("websocket tunnel", {
                try Churn.oneRequest(port: port, "GET /open/ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", expect: 101, tunnelEcho: true)
            }),
        ]
        // The warm-up pass also fills what is meant to stay (the buffer pool, the upstream pool,
        // table capacities); the heap is measured across the passes after it.
        let grown = try Self.steadyGrowth(harness, bound: 1_000_000) {
            for (name, ending) in endings {
                for _ in 0..<Self.perEnding { try ending() }
                let alive = Self.settle(harness)
                #expect(alive == 0, "\(alive) connections still alive after \(Self.perEnding) × \(name)")
            }
        }
        // 19,500 connections a pass: 1 MB is ~50 bytes each, far below any leak of a
        // connection's state (its buffers alone are 32 KiB).
        #expect(grown < 1_000_000, "heap grew by \(grown) bytes over \(endings.count * Self.perEnding) connections")
        #expect(harness.server.live.upstreamConnections <= 64)
    }

    @Test func connectionsEndedByTimeoutsAndUpstreamFailuresLeaveNothing() throws {
        // Timeouts short enough to wait for; several hundred connections wait at once.
        let short = "{request_header: 300ms, idle: 300ms, drain: 1s}"
        let harness = try Self.lockedDownHarness(timeouts: short, responseTimeout: "300ms")
        let port = harness.port
        let silent = RawClient.bindEphemeral(listening: true)  // accepts, never answers → 504
        defer { close(silent.0) }
        let stalled = try Self.lockedDownHarness(timeouts: short, responseTimeout: "300ms", upstreamPort: silent.1)
        let refusedPort = RawClient.bindEphemeral(listening: false)  // bound, not listening → refused
        defer { close(refusedPort.0) }
        let refused = try Self.lockedDownHarness(timeouts: short, responseTimeout: "300ms", upstreamPort: refusedPort.1)

        let cases: [(String, Harness, String?, Int?)] = [
            ("idle timeout, nothing sent", harness, nil, nil),
            ("header timeout (408)", harness, "GET /open/x HTTP/1.1\r\nHo", 408),
            ("body stalls", harness, "POST /open/x HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc", nil),
            ("upstream never answers (504)", stalled, "GET /open/x HTTP/1.1\r\nHost: a\r\n\r\n", 504),
            ("upstream refuses (502)", refused, "GET /open/x HTTP/1.1\r\nHost: a\r\n\r\n", 502),
        ]
        for (name, target, request, status) in cases {
            for _ in 0..<4 {
                let statuses = try Churn.waitingConnections(port: target.port, count: 200, request: request)
                if let status { #expect(statuses.allSatisfy { $0 == status }, "\(name): \(Set(statuses))") }
            }
            let alive = Self.settle(target)
            #expect(alive == 0, "\(alive) connections still alive after \(name)")
        }
        #expect(harness.server.live.upstreamConnections <= 64)
        _ = port
    }

    @Test func drainLeavesNoConnectionOrUpstreamAlive() throws {
        let harness = try Self.lockedDownHarness()
        var open: [Int32] = []
        for i in 0..<50 {
            let fd = try RawClient.connect(port: harness.port)
            if i % 2 == 0 {
                RawClient.send(fd, Array("GET /open/x HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
                _ = RawClient.read(fd, responses: 1)
            }
            open.append(fd)
        }
        let deadline = Sys.monotonicMillis() + 2000
        while harness.server.live.clientConnections < 50 && Sys.monotonicMillis() < deadline { usleep(5_000) }
        #expect(harness.server.live.clientConnections == 50)
        #expect(harness.server.live.upstreamConnections >= 1)
        harness.server.shutdown(drainMillis: 500)
        #expect(harness.server.live.clientConnections == 0)
        #expect(harness.server.live.upstreamConnections == 0)
        for fd in open { close(fd) }
    }
}

/// Short-lived client connections made the ways real clients make them.
enum Churn {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func connect(port: UInt16, source: String?) throws -> Int32 {
        guard let source else { return try RawClient.connect(port: port) }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_IP), IP_BIND_ADDRESS_NO_PORT, &one, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = inet_addr(source)
        var remote = local
        remote.sin_port = port.bigEndian
        remote.sin_addr.s_addr = inet_addr("127.0.0.1")
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) } }
        let connected = withUnsafePointer(to: &remote) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, size) } }
        guard bound == 0, connected == 0 else {
            close(fd)
            throw Failure(description: "connect from \(source): errno \(errno)")
        }
        return fd
    }

    /// One connection: send `request` (if any), read `responses` answers, end as told.
    static func oneRequest(port: UInt16, _ request: String?, expect status: Int?, responses: Int = 1, source: String? = nil,
                           reset: Bool = false, halfClose: Bool = false, untilClose: Bool = false, tunnelEcho: Bool = false) throws {
        let fd = try connect(port: port, source: source)
        defer {
            if reset {
                var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            }
            close(fd)
        }
        guard let request else { return }
        RawClient.send(fd, Array(request.utf8))
        guard let status else { return }
        if halfClose { shutdown(fd, Int32(SHUT_WR)) }
        if tunnelEcho {
            let head = try readUntil(fd, "\r\n\r\n")
            guard head.hasPrefix("HTTP/1.1 \(status)") else { throw Failure(description: "tunnel: \(head)") }
            RawClient.send(fd, Array("ping".utf8))
            let echo = try readUntil(fd, "ping")
            guard echo.hasSuffix("ping") else { throw Failure(description: "tunnel echo: \(echo)") }
            return
        }
        let response = untilClose ? readToEnd(fd) : RawClient.read(fd, responses: responses, settleMillis: 0)
        guard response.status == status, response.statuses.filter({ $0 >= 200 }).count >= responses else {
            throw Failure(description: "expected \(responses) × \(status), got \(response)")
        }
    }

    static func readUntil(_ fd: Int32, _ marker: String) throws -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !String(decoding: received, as: UTF8.self).contains(marker) {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw Failure(description: "connection ended before \(marker.debugDescription)") }
            received += buffer[0..<n]
        }
        return String(decoding: received, as: UTF8.self)
    }

    static func readToEnd(_ fd: Int32) -> RawResponse {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return RawResponse(bytes: received, closed: n == 0) }
            received += buffer[0..<n]
        }
    }

    /// `count` connections at once that send `request` and then wait for the proxy to end them;
    /// returns the status each one got (none for a close without an answer).
    static func waitingConnections(port: UInt16, count: Int, request: String?) throws -> [Int] {
        var fds: [Int32] = []
        defer { for fd in fds { close(fd) } }
        for _ in 0..<count {
            let fd = try RawClient.connect(port: port)
            if let request { RawClient.send(fd, Array(request.utf8)) }
            fds.append(fd)
        }
        return fds.compactMap { readToEnd($0).status }
    }
}
