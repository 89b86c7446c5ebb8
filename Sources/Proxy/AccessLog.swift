import EventLoop
#if canImport(Glibc)
import Glibc
#endif

/// One JSON line per request on stdout, formatted into a per-worker buffer without allocating and
/// written once per loop iteration.
final class AccessLog {
    // A reload replaces these between events.
    var enabled: Bool
    /// Allowed requests are logged when a draw from `random` is below this (refusals always).
    var sampleThreshold: UInt64 = .max
    var keepQuery = false
    private var random: UInt64
    let worker: Int
    private let buffer = IOBuffer(capacity: 64 * 1024)
    private var cachedSecond: Int64 = -1
    private var cachedStamp = [UInt8](repeating: 0, count: 19)

    init(enabled: Bool, worker: Int) {
        self.enabled = enabled
        self.worker = worker
        random = UInt64(truncatingIfNeeded: Sys.monotonicNanos()) | 1
    }

    func configure(enabled: Bool, sample: Double, keepQuery: Bool) {
        self.enabled = enabled
        self.keepQuery = keepQuery
        sampleThreshold = sample >= 1 ? .max : UInt64(sample * Double(UInt64.max >> 11)) << 11
    }

    /// Whether this request gets a line: every refusal, and the sampled share of the rest.
    func wants(allowed: Bool) -> Bool {
        guard enabled else { return false }
        guard allowed, sampleThreshold != .max else { return true }
        // xorshift64: cheap, and only needs to be uniform, not unpredictable.
        random ^= random << 13
        random ^= random >> 7
        random ^= random << 17
        return random < sampleThreshold
    }

    struct Entry {
        var client: UnsafeRawBufferPointer
        var method: UnsafeRawBufferPointer
        var path: UnsafeRawBufferPointer
        var status: Int
        var decision: StaticString
        /// How the client address was found: peer, proxy-protocol, x-forwarded-for, forwarded.
        var clientSource: StaticString
        var reason: String
        var bytesIn: UInt64
        var bytesOut: UInt64
        var durationNanos: Int64
        var upstreamNanos: Int64?
        var note: String?
        var route: String?
        var pathNormalized = false
        var rule: String?
        var appID: String?
        var objectID: String?
        var wouldDeny: String?
        /// Per connection, set once the TLS handshake is done (nil in cleartext).
        var tls: TLSLogFields?
        var protocolName: StaticString = "http/1.1"
    }

    /// What the log says of a TLS connection, formatted once per connection.
    struct TLSLogFields {
        var version: String
        var alpn: String?
        var clientCertificate: String?
    }

    func record(_ e: Entry) {
        guard enabled else { return }
        let (seconds, nanos) = Sys.wallClock()
        buffer.append("{\"ts\":\"")
        appendStamp(seconds)
        buffer.append(byte: UInt8(ascii: "."))
        let millis = UInt64(nanos / 1_000_000)
        buffer.append(byte: UInt8(48 + millis / 100))
        buffer.append(byte: UInt8(48 + millis / 10 % 10))
        buffer.append(byte: UInt8(48 + millis % 10))
        buffer.append("Z\",\"worker\":")
        buffer.append(decimal: UInt64(worker))
        buffer.append(",\"client\":\"")
        appendEscaped(e.client)
        buffer.append("\",\"client_source\":\"")
        buffer.append(e.clientSource)
        buffer.append("\",\"method\":\"")
        appendEscaped(e.method)
        buffer.append("\",\"path\":\"")
        if keepQuery {
            appendEscaped(e.path)
        } else {
            appendEscaped(UnsafeRawBufferPointer(rebasing: e.path[..<(e.path.firstIndex(of: UInt8(ascii: "?")) ?? e.path.endIndex)]))
        }
        buffer.append("\",\"protocol\":\"")
        buffer.append(e.protocolName)
        if let tls = e.tls {
            appendField("\",\"tls_version\":\"", tls.version)
            appendField("\",\"alpn\":\"", tls.alpn)
            appendField("\",\"client_cert\":\"", tls.clientCertificate)
        }
        buffer.append("\",\"status\":")
        buffer.append(decimal: UInt64(e.status))
        buffer.append(",\"decision\":\"")
        buffer.append(e.decision)
        appendField("\",\"reason\":\"", e.reason)
        appendField("\",\"rule\":\"", e.rule)
        appendField("\",\"note\":\"", e.note)
        appendField("\",\"route\":\"", e.route)
        appendField("\",\"app_id\":\"", e.appID)
        appendField("\",\"object_id\":\"", e.objectID)
        if e.wouldDeny != nil {
            buffer.append("\",\"would_deny\":true,\"would_deny_reason\":\"")
            appendField("", e.wouldDeny)
        }
        buffer.append(e.pathNormalized ? "\",\"path_normalized\":true,\"bytes_in\":" : "\",\"bytes_in\":")
        buffer.append(decimal: e.bytesIn)
        buffer.append(",\"bytes\":")
        buffer.append(decimal: e.bytesOut)
        buffer.append(",\"duration_us\":")
        buffer.append(decimal: UInt64(max(0, e.durationNanos / 1000)))
        if let upstream = e.upstreamNanos {
            buffer.append(",\"upstream_us\":")
            buffer.append(decimal: UInt64(max(0, upstream / 1000)))
        }
        buffer.append("}\n")
        if buffer.readableBytes > 48 * 1024 { flush() }
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        while !buffer.isEmpty {
            let n = Glibc.write(1, buffer.base + buffer.readerIndex, buffer.readableBytes)
            if n < 0 {
                if errno == EINTR { continue }
                // stdout gone or full: drop the lines rather than stall the loop.
                break
            }
            buffer.consume(n)
        }
        buffer.clear()
    }

    private func appendStamp(_ seconds: Int64) {
        if seconds != cachedSecond {
            cachedSecond = seconds
            var t = time_t(seconds)
            var parts = tm()
            gmtime_r(&t, &parts)
            let fields: [(Int, Int)] = [
                (Int(parts.tm_year) + 1900, 4), (Int(parts.tm_mon) + 1, 2), (Int(parts.tm_mday), 2),
                (Int(parts.tm_hour), 2), (Int(parts.tm_min), 2), (Int(parts.tm_sec), 2),
            ]
            let separators: [UInt8] = [UInt8(ascii: "-"), UInt8(ascii: "-"), UInt8(ascii: "T"), UInt8(ascii: ":"), UInt8(ascii: ":"), 0]
            var i = 0
            for (index, (value, width)) in fields.enumerated() {
                var v = value
                for k in stride(from: width - 1, through: 0, by: -1) {
                    cachedStamp[i + k] = UInt8(48 + v % 10)
                    v /= 10
                }
                i += width
                if separators[index] != 0 {
                    cachedStamp[i] = separators[index]
                    i += 1
                }
            }
        }
        cachedStamp.withUnsafeBytes { buffer.append($0) }
    }

    /// `prefix` (the closing quote of the previous field, the name, the opening quote) and the
    /// escaped value; nothing at all for a nil value.
    private func appendField(_ prefix: StaticString, _ value: String?) {
        guard var value else { return }
        buffer.append(prefix)
        value.withUTF8 { appendEscaped(UnsafeRawBufferPointer($0)) }
    }

    private func appendEscaped(_ bytes: UnsafeRawBufferPointer) {
        for b in bytes {
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
                buffer.append(byte: UInt8(ascii: "\\"))
                buffer.append(byte: b)
            } else if b < 0x20 || b >= 0x7F {
                buffer.append("\\u00")
                let hex: StaticString = "0123456789abcdef"
                buffer.append(byte: hex.utf8Start[Int(b >> 4)])
                buffer.append(byte: hex.utf8Start[Int(b & 0xF)])
            } else {
                buffer.append(byte: b)
            }
        }
    }
}
