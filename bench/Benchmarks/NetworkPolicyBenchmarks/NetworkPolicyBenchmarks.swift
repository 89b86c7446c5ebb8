import Benchmark
import Config
import HTTP1
import NetworkPolicy
import Proxy

/// Seeded so every run measures the same tables.
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// `count` random rules, half IPv4 (/8–/32) and half IPv6 (/16–/128), random priorities.
func policy(prefixes count: Int) -> (NetworkPolicy, [IPAddress]) {
    var random = SplitMix(state: UInt64(count))
    var settings = NetworkSettings()
    var probes: [IPAddress] = []
    for index in 0..<count {
        let cidr: String
        if index % 2 == 0 {
            let length = Int(random.next() % 25) + 8
            let value = UInt32(truncatingIfNeeded: random.next()) & (length == 32 ? .max : ~(UInt32.max >> UInt32(length)))
            cidr = "\(value >> 24).\(value >> 16 & 255).\(value >> 8 & 255).\(value & 255)/\(length)"
            probes.append(IPAddress(v4: value | UInt32(truncatingIfNeeded: random.next()) & (length == 32 ? 0 : UInt32.max >> UInt32(length))))
        } else {
            let length = Int(random.next() % 113) + 16
            let address = IPAddress(high: random.next(), low: random.next())
            let masked = CIDRText.masked(address, length)
            cidr = "\(masked)/\(length)"
            probes.append(address)
        }
        settings.rules.append(.init(name: "r\(index)", priority: Int(random.next() % 1000), action: index % 3 == 0 ? .deny : .allow,
                                    cidrs: [LocatedValue(value: cidr, key: "k", line: nil)], key: "network.rules[\(index)]"))
    }
    // Probes: addresses inside the table's prefixes and random ones, mixed, a power of two long.
    while probes.count < 8192 { probes.append(random.next() % 2 == 0 ? IPAddress(v4: UInt32(truncatingIfNeeded: random.next())) : IPAddress(high: random.next(), low: random.next())) }
    var shuffled: [IPAddress] = []
    for i in 0..<8192 { shuffled.append(probes[Int(random.next() % UInt64(probes.count))]); _ = i }
    do {
        return (try NetworkPolicy(settings), shuffled)
    } catch {
        fatalError("benchmark table did not compile: \(error)")
    }
}

enum CIDRText {
    static func masked(_ a: IPAddress, _ length: Int) -> IPAddress {
        if length <= 64 {
            return IPAddress(high: length == 64 ? a.high : a.high & ~(UInt64.max >> UInt64(length)), low: 0)
        }
        return IPAddress(high: a.high, low: length == 128 ? a.low : a.low & ~(UInt64.max >> UInt64(length - 64)))
    }
}

let noHeaders = StaticHeaders([])

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(3)
    )

    for size in [10, 1_000, 100_000] {
        Benchmark("NetworkPolicy.decide, \(size) prefixes (v4+v6)") { (benchmark: Benchmark, setup: (NetworkPolicy, [IPAddress])) in
            let (policy, probes) = setup
            var i = 0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(policy.decide(probes[i & 8191], headers: noHeaders).allowed)
                i &+= 1
            }
            benchmark.stopMeasurement()
        } setup: {
            policy(prefixes: size)
        }
    }

    Benchmark("ClientIPResolver.resolve, 3-hop X-Forwarded-For") { (benchmark: Benchmark, resolver: ClientIPResolver) in
        measureResolve(benchmark, resolver, StaticHeaders([("x-forwarded-for", "198.51.100.7, 10.0.0.5, 10.0.0.6")]))
    } setup: {
        trustedResolver()
    }

    // What the proxy runs per request: the same list in a parsed 13-field head, read through
    // RequestHeaders (the network filter's header source).
    Benchmark("ClientIPResolver.resolve, 3-hop X-Forwarded-For, parsed 13-field head") { (benchmark: Benchmark, resolver: ClientIPResolver) in
        requestHead.withUnsafeBytes { bytes in
            var parser = RequestParser()
            var head = RequestHead()
            guard (try? parser.parse(bytes, into: &head)) == true else { fatalError("benchmark head did not parse") }
            measureResolve(benchmark, resolver, RequestHeaders(RequestContext(bytes: bytes, head: head, peer: trustedPeer)))
        }
    } setup: {
        trustedResolver()
    }
}

/// The resolver's loop, for one source of the 3-hop list, from a trusted peer.
func measureResolve<H: HeaderSource>(_ benchmark: Benchmark, _ resolver: ClientIPResolver, _ headers: H) {
    benchmark.startMeasurement()
    for _ in benchmark.scaledIterations {
        blackHole(resolver.resolve(peer: trustedPeer, headers: headers))
    }
    benchmark.stopMeasurement()
}

let trustedPeer = IPAddress(v4: 0x0A00_0007)

/// Trusts 10.0.0.0/8: the peer and the two proxies of the list, not the client left of them.
func trustedResolver() -> ClientIPResolver {
    var settings = ClientIPSettings()
    settings.trustedProxies = [LocatedValue(value: "10.0.0.0/8", key: "k", line: nil)]
    do {
        return try ClientIPResolver(settings)
    } catch {
        fatalError("\(error)")
    }
}

/// The HTTP1Benchmarks head with the 3-hop list: 13 fields, X-Forwarded-For the seventh.
let requestHead: [UInt8] = Array("""
GET /api/v1/orders/8f14e45f-ceea-467f-a7e1-3c0d9b2f6a11/items?limit=50&cursor=eyJpZCI6MTIzNH0 HTTP/1.1\r
Host: orders.internal.example.com\r
User-Agent: service-a/2.14.1 (linux; swift)\r
Accept: application/json\r
Accept-Encoding: gzip, deflate\r
Connection: keep-alive\r
X-Request-Id: 7b3f6c2e-59d1-4c8a-9e0b-2a6d1f4e8c37\r
X-Forwarded-For: 198.51.100.7, 10.0.0.5, 10.0.0.6\r
Traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r
Content-Type: application/json\r
Cache-Control: no-cache\r
X-Tenant: contoso\r
Authorization: Bearer abc.def.ghi\r
\r

""".utf8)
