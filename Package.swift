// swift-tools-version:6.1
import PackageDescription

// One target per layer; the directions between them are the ones in ARCHITECTURE.md:
// EventLoop knows no HTTP, HTTP1 knows no rules or tokens, NetworkPolicy and Tokens are pure,
// Config is a leaf of plain values, and only Proxy knows them all.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

// Release builds of the request-path layers skip dynamic exclusivity checks: profiling showed
// swift_beginAccess and its thread-local bookkeeping at ~8% of the proxy's CPU under load. The
// state they guard is confined to one event-loop thread, and debug builds (the test suite)
// keep the checks on, so a violation still fails the tests.
let hotPath: [SwiftSetting] = strict + [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "portcullis",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "portcullis", targets: ["portcullis"]),
        .library(name: "EventLoop", targets: ["EventLoop"]),
        .library(name: "HTTP1", targets: ["HTTP1"]),
        .library(name: "HTTP2", targets: ["HTTP2"]),
        .library(name: "Config", targets: ["Config"]),
        .library(name: "NetworkPolicy", targets: ["NetworkPolicy"]),
        .library(name: "Tokens", targets: ["Tokens"]),
        .library(name: "KeyFetcher", targets: ["KeyFetcher"]),
        .library(name: "IPSets", targets: ["IPSets"]),
        .library(name: "Proxy", targets: ["Proxy"]),
        .library(name: "Transport", targets: ["Transport"]),
        .library(name: "Metrics", targets: ["Metrics"]),
        .library(name: "Admin", targets: ["Admin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // C at the edges.
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CNghttp2",
            pkgConfig: "libnghttp2",
            providers: [.apt(["libnghttp2-dev"])]
        ),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .target(
            name: "CShims",
            dependencies: ["COpenSSL", "CCurl"],
            cSettings: [.define("_GNU_SOURCE")]
        ),

        // Layers.
        .target(name: "EventLoop", dependencies: ["CShims"], swiftSettings: hotPath),
        .target(name: "Transport", dependencies: ["EventLoop", "Config", "COpenSSL", "CShims"], swiftSettings: hotPath),
        .target(name: "HTTP1", swiftSettings: hotPath),
        .target(name: "HTTP2", dependencies: ["CNghttp2"], swiftSettings: hotPath),
        .target(name: "NetworkPolicy", dependencies: ["Config"], swiftSettings: hotPath),
        .target(name: "Tokens", dependencies: ["Config", "COpenSSL", "CShims"], swiftSettings: hotPath),
        .target(
            name: "KeyFetcher",
            dependencies: ["Tokens", "Config", "CCurl", "CShims", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // Named IP sets: their documents parsed (Service Tags JSON, CIDR lists) and kept fresh on
        // the key fetcher's schedule machinery, off the loops.
        .target(
            name: "IPSets",
            dependencies: ["Config", "NetworkPolicy", "KeyFetcher", "Tokens", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(
            name: "Proxy",
            dependencies: ["EventLoop", "Transport", "HTTP1", "HTTP2", "Config", "NetworkPolicy", "Tokens", "KeyFetcher", "IPSets", "Metrics", "CShims"],
            swiftSettings: hotPath
        ),
        .target(name: "Config", dependencies: [.product(name: "Yams", package: "Yams")], swiftSettings: strict),
        // Per-worker counters summed at scrape; only the toolchain's Synchronization.
        .target(name: "Metrics", swiftSettings: hotPath),
        // The admin listener (health, readiness, metrics, config) on its own thread and loop.
        .target(name: "Admin", dependencies: ["EventLoop", "HTTP1"], swiftSettings: strict),
        .target(name: "DemoBackend", dependencies: ["EventLoop", "HTTP1", "CShims"], swiftSettings: strict),
        // A local identity provider shaped like Entra ID (`portcullis dev-issuer`), on its own loop.
        .target(
            name: "DevIssuer",
            dependencies: ["EventLoop", "HTTP1", "Transport", "Tokens", "Config", "CShims"],
            swiftSettings: strict
        ),
        // The calling side: tokens for outgoing calls, fetched with libcurl on a background thread.
        .target(
            name: "TokenSources",
            dependencies: ["Config", "KeyFetcher", "Tokens", "EventLoop", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "portcullis",
            dependencies: [
                "Config", "Proxy", "EventLoop", "DemoBackend", "NetworkPolicy", "Tokens", "KeyFetcher", "IPSets", "Admin", "DevIssuer", "TokenSources",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),

        // Tests.
        .testTarget(name: "ConfigTests", dependencies: ["Config"], swiftSettings: strict),
        .testTarget(name: "EventLoopTests", dependencies: ["EventLoop"], swiftSettings: strict),
        .testTarget(name: "NetworkPolicyTests", dependencies: ["NetworkPolicy", "Config"], swiftSettings: strict),
        // The request parser against its former two-pass self, and the word scans against byte loops.
        .testTarget(name: "HTTP1Tests", dependencies: ["HTTP1"], swiftSettings: strict),
        // A loopback HTTP server that plays an identity provider, shared by the test targets.
        .target(name: "TestSupport", dependencies: ["EventLoop"], path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "IPSetsTests", dependencies: ["IPSets", "Config", "NetworkPolicy", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "KeyFetcherTests", dependencies: ["KeyFetcher", "Tokens", "Config", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "TokensTests", dependencies: ["Tokens", "Config", "COpenSSL"], resources: [.copy("Fixtures")], swiftSettings: strict),
        // Runs the built executable; depending on it makes `swift build --build-tests` build it.
        .testTarget(name: "CLITests", dependencies: ["portcullis", "Admin", "EventLoop", "TestSupport"], swiftSettings: strict),
        // A dev issuer with the tests' tenant, openssl-made key material, and requests to it.
        .target(name: "IssuerTestSupport", dependencies: ["DevIssuer", "Config", "KeyFetcher", "Tokens"],
                path: "Tests/IssuerTestSupport", swiftSettings: strict),
        .testTarget(name: "DevIssuerTests", dependencies: ["DevIssuer", "IssuerTestSupport", "Tokens", "Config", "KeyFetcher", "TestSupport"],
                    // Fixtures: ms_clients.py, MSAL Python and azure-identity against the dev issuer.
                    resources: [.copy("Fixtures")], swiftSettings: strict),
        .testTarget(name: "TokenSourcesTests", dependencies: ["TokenSources", "KeyFetcher", "IssuerTestSupport", "DevIssuer", "Tokens", "Config", "TestSupport"],
                    swiftSettings: strict),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "AdminTests", dependencies: ["Admin", "EventLoop", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "ProxyTests",
            dependencies: ["Proxy", "Config", "EventLoop", "HTTP1", "NetworkPolicy", "DemoBackend", "Tokens", "KeyFetcher", "IPSets", "TestSupport"],
            // Fixtures: the Python peers of the HTTP/2 flood, gRPC and upstream-TLS tests.
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
    ]
)
