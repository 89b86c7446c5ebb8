import Benchmark
import Config
import NetworkPolicy

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
        let headers = StaticHeaders([("x-forwarded-for", "198.51.100.7, 10.0.0.5, 10.0.0.6")])
        let peer = IPAddress(v4: 0x0A00_0007)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(resolver.resolve(peer: peer, headers: headers))
        }
        benchmark.stopMeasurement()
    } setup: {
        var settings = ClientIPSettings()
        settings.trustedProxies = [LocatedValue(value: "10.0.0.0/8", key: "k", line: nil)]
        do {
            return try ClientIPResolver(settings)
        } catch {
            fatalError("\(error)")
        }
    }
}
