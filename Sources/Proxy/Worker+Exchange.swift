import EventLoop
import NetworkPolicy

extension Worker {
    /// One request or stream ended, whatever the protocol: this is where it is counted and
    /// where its access log line is written (every refusal; allowed ones as sampled).
    func finishExchange(_ record: ExchangeRecord, method: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer,
                        status: Int, decision: StaticString, reason: String, h2: Bool,
                        tls: AccessLog.TLSLogFields?, viaProxyProtocol: Bool, listener: String) {
        let duration = record.start == 0 ? 0 : Sys.monotonicNanos() - record.start
        metrics.count(record, listener: listener, h2: h2, reason: reason, durationNanos: duration)
        let log = accessLog
        // A dry-run refusal is a refusal for the log: never sampled away.
        guard log.wants(allowed: record.admitted && record.wouldDeny == nil) else { return }
        let source: StaticString
        switch record.clientSource {
        case .header: source = forwardingHeaderIsXFF ? "x-forwarded-for" : "forwarded"
        case .peer: source = viaProxyProtocol ? "proxy-protocol" : "peer"
        }
        var clientText = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &clientText) { raw in
            let length = record.client.format(into: raw)
            log.record(AccessLog.Entry(
                client: UnsafeRawBufferPointer(rebasing: raw[0..<length]), method: method,
                path: UnsafeRawBufferPointer(rebasing: path.prefix(1024)),
                status: status, decision: decision, clientSource: source, reason: reason,
                bytesIn: record.bytesIn, bytesOut: record.bytesOut, durationNanos: duration,
                upstreamNanos: record.upstreamNanos, note: record.note, route: record.route,
                pathNormalized: record.pathNormalized, rule: record.rule,
                appID: record.appID, objectID: record.objectID, wouldDeny: record.wouldDeny, tls: tls, protocolName: h2 ? "h2" : "http/1.1"
            ))
        }
    }
}
