import EventLoop
import Transport

/// One place requests are forwarded to: the ingress upstream, or the upstream of an egress
/// route. Resolved and its TLS context built with the configuration, off the loops.
struct UpstreamTarget: Sendable {
    let address: SocketAddress
    /// `host:port` as the upstream must see it in Host: for an ingress request that named no
    /// host, and for every egress request (the app named the route's host, not this one).
    let authority: [UInt8]
    /// TLS for an `https://` upstream; nil for http.
    let tls: ClientTLS?
    let maxIdle: Int

    /// Same place, so a reload keeps the pool of connections to it.
    func sameDestination(as other: UpstreamTarget) -> Bool {
        address == other.address && authority == other.authority && (tls == nil) == (other.tls == nil)
    }
}
