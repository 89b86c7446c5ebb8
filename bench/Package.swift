// swift-tools-version:6.1
import PackageDescription

// Microbenchmarks live in their own package, as swift-nio keeps its Benchmarks package, so that the
// main build and CI never pull package-benchmark. Run: cd bench && swift package benchmark
//
// One suite per layer; each is an executable target under Benchmarks/<name> that depends on the
// root package's library products listed beside it.
let suites: [(name: String, products: [String])] = [
    ("HTTP1Benchmarks", ["HTTP1"]),
    // HTTP1 and Proxy for the resolver over a parsed request head, the proxy's own header source.
    ("NetworkPolicyBenchmarks", ["NetworkPolicy", "Config", "HTTP1", "Proxy"]),
    ("TokensBenchmarks", ["Tokens", "Config"]),
    ("MetricsBenchmarks", ["Metrics"]),
]

let package = Package(
    name: "portcullis-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "portcullis", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: suites.map { suite in
        .executableTarget(
            name: suite.name,
            dependencies: [.product(name: "Benchmark", package: "benchmark")]
                + suite.products.map { .product(name: $0, package: "portcullis") },
            path: "Benchmarks/\(suite.name)",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    }
)
