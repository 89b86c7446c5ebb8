import EventLoop
import Foundation
import Proxy
import Synchronization
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The known HTTP/2 floods, sent as raw frames by `Fixtures/h2flood.py` to an h2c listener.
/// Each test checks what an operator would: the flooding client is told ENHANCE_YOUR_CALM (or
/// simply cut off), the proxy goes on serving a well-behaved HTTP/2 and HTTP/1.1 client, the
/// backend saw no more requests than the limits allow, and no client connection stays alive.
@Suite("HTTP/2 floods", .serialized)
struct H2FloodTests {
    static let h2c = ", protocols: [http/1.1, h2]"
    static let enhanceYourCalm = 11

    /// What the flooding client saw (the script's JSON report).
    struct Report: CustomStringConvertible {
        let raw: String
        let sent: Int
        let closed: Bool
        let goaway: Int?
        let frames: [String: Int]
        let resets: [String: Int]
        let statuses: [Int]
        var description: String { raw }

        /// Told to calm down, or at least cut off (a client that never reads sees no GOAWAY).
        var cutOff: Bool { goaway == H2FloodTests.enhanceYourCalm || (closed && goaway == nil) }
    }

    struct ScriptFailed: Error, CustomStringConvertible { let description: String }

    static var script: String {
        get throws {
            guard let url = Bundle.module.url(forResource: "Fixtures/h2flood", withExtension: "py") else {
                throw ScriptFailed(description: "Fixtures/h2flood.py is not in the test bundle")
            }
            return url.path
        }
    }

    /// Runs one flood against `port`; bounded by `timeout 20` (and the script's own deadline).
    static func flood(_ port: UInt16, _ kind: String, _ count: Int) throws -> Report {
        let (status, text) = try TestPKI.run("/usr/bin/timeout", ["20", "python3", try script, String(port), kind, String(count)])
        guard status == 0, let line = text.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw ScriptFailed(description: "h2flood.py \(kind) exited \(status): \(text)")
        }
        return Report(raw: String(line), sent: object["sent"] as? Int ?? 0, closed: object["closed"] as? Bool ?? false,
                      goaway: object["goaway"] as? Int, frames: object["frames"] as? [String: Int] ?? [:],
                      resets: object["resets"] as? [String: Int] ?? [:], statuses: object["statuses"] as? [Int] ?? [])
    }

    static func requests(_ harness: Harness) -> Int {
        harness.backend.requestCount.load(ordering: .relaxed)
    }

    /// After a flood: the flooder's connection is gone, and fresh clients are served.
    static func expectProxyStillServes(_ harness: Harness, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let alive = ConnectionLifetimeTests.settle(harness)
        #expect(alive == 0, "\(alive) client connections still alive after the flood", sourceLocation: sourceLocation)
        let h2 = try TestPKI.curl(["--http2-prior-knowledge", "http://127.0.0.1:\(harness.port)/after"])
        #expect(h2.exit == 0 && h2.status == 200, "HTTP/2 client after the flood: \(h2)", sourceLocation: sourceLocation)
        let h1 = try harness.exchange("GET /after HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(h1.status == 200, "HTTP/1.1 client after the flood: \(h1)", sourceLocation: sourceLocation)
        #expect(ConnectionLifetimeTests.settle(harness) == 0, sourceLocation: sourceLocation)
    }

    // MARK: Streams

    @Test func rapidResetIsCutOffAndFewRequestsReachTheBackend() throws {
        let harness = try Harness(listenerYAML: Self.h2c)
        // 5,000 streams, each opened and cancelled at once (CVE-2023-44487).
        let report = try Self.flood(harness.port, "rapid-reset", 10_000)
        #expect(report.goaway == Self.enhanceYourCalm, "\(report)")
        #expect(report.cutOff, "\(report)")
        let reached = Self.requests(harness)
        // At most the reset budget's burst (200, plus 33 a second) could start upstream.
        #expect(reached <= 250, "\(reached) requests reached the backend")
        #expect(reached * 10 < report.sent / 2, "\(reached) requests reached the backend for \(report.sent / 2) streams opened")
        try Self.expectProxyStillServes(harness)
    }

    @Test func resetStreamsNeverPutMoreThanTheStreamLimitInFlightUpstream() throws {
        // A backend that takes requests and never answers: every request the proxy forwards
        // stays in flight there until the proxy gives up on it (closes that connection).
        let backend = try HoldingBackend()
        defer { backend.stop() }
        let harness = try Harness(upstreamPort: backend.port, listenerYAML: Self.h2c, responseTimeout: "30s")
        // Rounds of 100 streams (the limit), all held upstream, then all reset, as fast as the
        // budget lets a client: at no moment may more than 100 be in flight upstream.
        let report = try Self.flood(harness.port, "reset-cycles", 10)
        #expect(report.goaway == Self.enhanceYourCalm, "\(report)")
        let seen = backend.snapshot
        #expect(seen.maxInFlight <= 100, "the backend had \(seen.maxInFlight) requests in flight from one client connection")
        #expect(seen.maxInFlight >= 50, "the test never filled the stream limit: \(seen)")
        // Three rounds at most: two within the reset burst (200), the third cut off.
        #expect(seen.requests <= 300, "\(seen.requests) requests reached the backend")
        #expect(ConnectionLifetimeTests.settle(harness) == 0)
        // Every request the flooder started is abandoned upstream too.
        let deadline = Sys.monotonicMillis() + 3000
        while backend.snapshot.inFlight > 0 && Sys.monotonicMillis() < deadline { usleep(10_000) }
        #expect(backend.snapshot.inFlight == 0, "\(backend.snapshot)")
    }

    @Test func aHeaderBlockThatNeverEndsIsCutOff() throws {
        let harness = try Harness(listenerYAML: Self.h2c)
        // HEADERS without END_HEADERS, then CONTINUATION frames forever (the 2024 class).
        let report = try Self.flood(harness.port, "continuation", 10_000)
        #expect(report.cutOff, "\(report)")
        #expect(report.sent < 10_001 || report.closed, "\(report)")
        #expect(Self.requests(harness) == 0)
        try Self.expectProxyStillServes(harness)
    }

    // MARK: Control frames

    @Test func aSettingsFloodIsCutOff() throws {
        let harness = try Harness(listenerYAML: Self.h2c)
        // SETTINGS frames owed ACKs, from a client that never reads them.
        let flood = try Self.flood(harness.port, "settings", 100_000)
        #expect(flood.cutOff, "\(flood)")
        // One SETTINGS frame with a hundred entries.
        let entries = try Self.flood(harness.port, "settings-entries", 100)
        #expect(entries.goaway == Self.enhanceYourCalm, "\(entries)")
        #expect(Self.requests(harness) == 0)
        try Self.expectProxyStillServes(harness)
    }

    @Test func aPingFloodFromAClientThatNeverReadsIsCutOff() throws {
        let harness = try Harness(listenerYAML: Self.h2c)
        // Enough PINGs that their ACKs overflow every buffer between the proxy and the client.
        let started = Sys.monotonicMillis()
        let report = try Self.flood(harness.port, "ping", 2_000_000)
        let took = Sys.monotonicMillis() - started
        #expect(report.closed, "\(report)")
        // Cut off by the limit on unsent ACKs, not by the idle timeout (5 s here) much later.
        #expect(took < 2500, "took \(took) ms")
        #expect(report.sent < 2_000_000, "the whole flood was taken: \(report)")
        #expect(Self.requests(harness) == 0)
        try Self.expectProxyStillServes(harness)
    }

    @Test func emptyDataFramesAreCutOff() throws {
        let harness = try Harness(listenerYAML: Self.h2c)
        let report = try Self.flood(harness.port, "empty-data", 10_000)
        #expect(report.goaway == Self.enhanceYourCalm, "\(report)")
        // The one request's body never ended, so the backend never saw a whole request.
        #expect(Self.requests(harness) <= 1)
        try Self.expectProxyStillServes(harness)
    }

    @Test func aWindowUpdateFloodIsCutOff() throws {
        let harness = try Harness(listenerYAML: Self.h2c)
        let report = try Self.flood(harness.port, "window-update", 10_000)
        #expect(report.goaway == Self.enhanceYourCalm, "\(report)")
        #expect(Self.requests(harness) == 0)
        try Self.expectProxyStillServes(harness)
    }

    @Test func aPriorityFloodIsCutOff() throws {
        let harness = try Harness(listenerYAML: Self.h2c)
        let report = try Self.flood(harness.port, "priority", 10_000)
        #expect(report.goaway == Self.enhanceYourCalm, "\(report)")
        #expect(Self.requests(harness) == 0)
        try Self.expectProxyStillServes(harness)
    }

    // MARK: Stalls

    @Test func streamsStalledOnAZeroWindowAreEndedByTheTransferTimeout() throws {
        let harness = try Harness(listenerYAML: Self.h2c, timeouts: "{request_header: 1s, idle: 1s, drain: 1s}")
        // The client's stream windows are 0 and never opened: a small answer (read whole, its
        // upstream connection already back in the pool) and a large one (its upstream
        // connection still attached) both wait for bytes the client will never take.
        let started = Sys.monotonicMillis()
        let report = try Self.flood(harness.port, "zero-window", 1)
        let took = Sys.monotonicMillis() - started
        #expect(report.statuses == [200, 200], "\(report)")
        #expect(report.frames["RST_STREAM"] == 2, "both stalled streams end by the timeout: \(report)")
        #expect(report.closed, "the idle connection closes after its streams: \(report)")
        #expect(took < 8000, "took \(took) ms")
        #expect(ConnectionLifetimeTests.settle(harness) == 0)
        // The stalled stream's upstream connection was closed; at most the pooled one is left.
        let deadline = Sys.monotonicMillis() + 3000
        while harness.server.live.upstreamConnections > 1 && Sys.monotonicMillis() < deadline { usleep(10_000) }
        #expect(harness.server.live.upstreamConnections <= 1)
        try Self.expectProxyStillServes(harness)
    }

    @Test func aClientThatStopsReadingLosesItsConnection() throws {
        let harness = try Harness(listenerYAML: Self.h2c, timeouts: "{request_header: 1s, idle: 1s, drain: 1s}")
        // Windows opened wide, a 20 MB download asked for, and then the socket is never read:
        // the proxy's output fills and stays full. The connection must not live on for as
        // long as the client keeps its socket open.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var small: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = harness.port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(connected == 0)
        RawClient.send(fd, H2Frames.preface + H2Frames.settings([(0x4, 0x7FFF_FFFF)]) + H2Frames.windowUpdate(0, 0x7FFF_FFFF - 65_535)
                           + H2Frames.get(stream: 1, path: "/bytes/20000000"))
        var deadline = Sys.monotonicMillis() + 2000
        while harness.server.live.clientConnections == 0 && Sys.monotonicMillis() < deadline { usleep(5_000) }
        #expect(harness.server.live.clientConnections == 1)
        deadline = Sys.monotonicMillis() + 6000
        while harness.server.live.clientConnections > 0 && Sys.monotonicMillis() < deadline { usleep(10_000) }
        #expect(harness.server.live.clientConnections == 0, "the connection of a client that stopped reading is still alive")
        try Self.expectProxyStillServes(harness)
    }

    // MARK: Well-behaved clients

    @Test func largeDownloadsArriveWhole() throws {
        let harness = try Harness(listenerYAML: Self.h2c)
        // The tail of a large body must not wait for an event that never comes (it did, in
        // about one download in twenty, when the socket took all the output at once).
        for i in 0..<20 {
            let (code, text) = try TestPKI.run("/usr/bin/curl", ["-s", "-S", "--max-time", "5", "--http2-prior-knowledge", "-o", "/dev/null",
                                                                "-w", "%{http_code} %{size_download}", "http://127.0.0.1:\(harness.port)/bytes/20000000"])
            #expect(code == 0 && text == "200 20000000", "download \(i): curl exited \(code): \(text)")
        }
        #expect(ConnectionLifetimeTests.settle(harness) == 0)
    }

    @Test func wellBehavedClientsStayWithinEveryBudget() throws {
        let harness = try Harness(listenerYAML: Self.h2c)
        // A 20 MB download by a client that gives the window back for every DATA frame, on the
        // stream and on the connection: two WINDOW_UPDATEs per frame, thousands in all.
        let chatty = try Self.flood(harness.port, "chatty-download", 20_000_000)
        #expect(chatty.statuses == [200] && chatty.goaway == nil && !chatty.closed, "\(chatty)")
        #expect(chatty.raw.contains("\"body\": 20000000"), "\(chatty)")
        #expect(chatty.sent > 2000, "\(chatty)")
        // 300 requests multiplexed on one connection, 100 at a time, by the h2 library.
        let many = try Self.flood(harness.port, "h2-client", 300)
        #expect(many.statuses.count == 300 && many.statuses.allSatisfy { $0 == 200 }, "\(many)")
        #expect(many.goaway == nil && !many.closed, "\(many)")
        // 300 requests sent before the proxy's SETTINGS could arrive: 100 answered, the rest
        // refused as safe to retry, and the connection is not taken for a flood.
        let eager = try Self.flood(harness.port, "eager", 300)
        #expect(eager.statuses.count == 100 && eager.resets == ["7": 200], "\(eager)")
        #expect(eager.goaway == nil && !eager.closed, "\(eager)")
        #expect(Self.requests(harness) == 401)
        #expect(ConnectionLifetimeTests.settle(harness) == 0)
    }
}

/// An upstream that accepts requests and never answers, and counts how many it holds at once:
/// a request is in flight from the moment its bytes arrive until the proxy closes that
/// connection. Closes are taken before new connections in each round, and checked again
/// before counting, so a connection the proxy already closed is never counted.
final class HoldingBackend: @unchecked Sendable {
    struct Snapshot: CustomStringConvertible {
        var requests = 0
        var inFlight = 0
        var maxInFlight = 0
        var description: String { "requests: \(requests), in flight: \(inFlight), at most: \(maxInFlight)" }
    }

    let port: UInt16
    private let listenFD: Int32
    private let state = Mutex(Snapshot())
    private let running = Atomic<Bool>(true)
    private var thread = pthread_t()

    init() throws {
        let (fd, port) = RawClient.bindEphemeral(listening: true)
        guard fd >= 0, port != 0 else { throw SystemError("bind", errno: errno) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        listen(fd, 1024)
        listenFD = fd
        self.port = port
        let box = Unmanaged.passRetained(self)
        pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            let backend = Unmanaged<HoldingBackend>.fromOpaque(raw).takeRetainedValue()
            backend.run()
            return nil
        }, box.toOpaque())
    }

    var snapshot: Snapshot { state.withLock { $0 } }

    func stop() {
        running.store(false, ordering: .relaxed)
        pthread_join(thread, nil)
    }

    private struct Held {
        let fd: Int32
        var request = false
    }

    private func run() {
        var held: [Held] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        /// Reads what is there; false once the peer closed.
        func drain(_ connection: inout Held) -> Bool {
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(connection.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if n > 0 {
                    if !connection.request {
                        connection.request = true
                        state.withLock { $0.requests += 1 }
                    }
                    continue
                }
                if n == 0 { return false }
                return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
            }
        }
        func sweep(_ held: inout [Held]) {
            for i in held.indices.reversed() where !drain(&held[i]) {
                close(held[i].fd)
                held.remove(at: i)
            }
        }
        while running.load(ordering: .relaxed) {
            var fds = [pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)]
            fds += held.map { pollfd(fd: $0.fd, events: Int16(POLLIN) | 0x2000 /* POLLRDHUP */, revents: 0) }
            _ = poll(&fds, nfds_t(fds.count), 20)
            // Closes and new bytes first, then new connections, then closes once more.
            for i in held.indices.reversed() where fds[i + 1].revents != 0 {
                if !drain(&held[i]) {
                    close(held[i].fd)
                    held.remove(at: i)
                }
            }
            while true {
                let fd = accept(listenFD, nil, nil)
                if fd < 0 { break }
                var connection = Held(fd: fd)
                if drain(&connection) { held.append(connection) } else { close(fd) }
            }
            sweep(&held)
            let inFlight = held.filter(\.request).count
            state.withLock {
                $0.inFlight = inFlight
                $0.maxInFlight = max($0.maxInFlight, inFlight)
            }
        }
        for connection in held { close(connection.fd) }
        close(listenFD)
    }
}

/// Hand-built HTTP/2 frames for the tests that drive a socket from Swift.
enum H2Frames {
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    static func frame(type: UInt8, flags: UInt8, stream: UInt32, _ payload: [UInt8]) -> [UInt8] {
        let length = UInt32(payload.count)
        return [UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type, flags] + be32(stream) + payload
    }

    static func be32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    static func settings(_ entries: [(UInt16, UInt32)]) -> [UInt8] {
        frame(type: 0x4, flags: 0, stream: 0, entries.flatMap { [UInt8($0.0 >> 8), UInt8($0.0 & 0xFF)] + be32($0.1) })
    }

    static func windowUpdate(_ stream: UInt32, _ increment: UInt32) -> [UInt8] {
        frame(type: 0x8, flags: 0, stream: stream, be32(increment))
    }

    /// HEADERS (END_STREAM | END_HEADERS) for a GET: HPACK static-table entries and literals.
    static func get(stream: UInt32, path: String) -> [UInt8] {
        func literal(nameIndex: UInt8, _ value: String) -> [UInt8] {
            [0x00 | nameIndex, UInt8(value.utf8.count)] + Array(value.utf8)  // literal without indexing
        }
        let block: [UInt8] = [0x82, 0x86] + literal(nameIndex: 4, path) + literal(nameIndex: 1, "127.0.0.1")
        return frame(type: 0x1, flags: 0x5, stream: stream, block)
    }
}
