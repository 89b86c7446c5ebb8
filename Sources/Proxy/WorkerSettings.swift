import Config
import HTTP1
import Transport

/// The per-worker runtime form of the config: milliseconds and limits, read on the request path.
struct WorkerSettings: Sendable {
    var requestLimits: RequestLimits
    var idleMillis: Int64
    var requestHeaderMillis: Int64
    var connectTimeoutMillis: Int64
    var responseTimeoutMillis: Int64
    var accessLog: Bool
    var accessSample: Double
    var accessQuery: Bool
    var tlsHandshakeMillis: Int64
    /// The upstream speaks HTTP/2 with prior knowledge (streams from HTTP/2 clients go there).
    var upstreamIsH2: Bool
    /// Lower-case name of the header that carries a verified client certificate upstream; a
    /// client's own copy is always dropped.
    var clientCertificateHeader: [UInt8]
    /// The most an upstream connection's input holds: room for a whole response head, and
    /// for the body up to the client side's bound.
    var upstreamMaxHeld: Int { max(ClientConnection.highWater, requestLimits.maxHeadBytes + 4096) }

    init(_ config: PortcullisConfig) {
        requestLimits = RequestLimits(maxHeadBytes: config.limits.maxHeaderBytes, maxHeaders: config.limits.maxHeaders,
                                      maxTargetBytes: config.limits.maxRequestTargetBytes)
        idleMillis = millis(config.timeouts.idle)
        requestHeaderMillis = millis(config.timeouts.requestHeader)
        // Egress routes take the ingress upstream's timeouts, or the defaults without one.
        let upstream = config.upstream ?? UpstreamSettings(host: "", port: 0)
        connectTimeoutMillis = millis(upstream.connectTimeout)
        responseTimeoutMillis = millis(upstream.responseTimeout)
        accessLog = config.log.access
        accessSample = config.log.accessSample
        accessQuery = config.log.accessQuery
        tlsHandshakeMillis = millis(config.timeouts.tlsHandshake)
        upstreamIsH2 = config.upstream?.protocolVersion == .h2
        clientCertificateHeader = Array((config.clientCertificate?.forwardHeader ?? ClientCertificateSettings().forwardHeader).utf8)
    }
}

func millis(_ d: Duration) -> Int64 {
    let (seconds, attoseconds) = d.components
    return seconds * 1000 + attoseconds / 1_000_000_000_000_000
}
