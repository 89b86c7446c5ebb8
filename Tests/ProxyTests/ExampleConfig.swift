import Config
import Foundation
import Proxy
import Tokens

/// A file of config/examples run as documented: its listener on an ephemeral port, its upstream
/// pointed at the test's server, its key files found from the repository root, one worker.
struct ExampleConfig {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    let proxy: ProxyServer
    var port: UInt16 { proxy.boundAddresses[0].port }

    /// `upstream` is the upstream URL as the file writes it, replaced by the test server's.
    init(_ name: String, upstream: String, port: some BinaryInteger) throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("config/examples/\(name)"), encoding: .utf8)
            .replacingOccurrences(of: "127.0.0.1:8080", with: "127.0.0.1:0")
            .replacingOccurrences(of: upstream, with: "http://127.0.0.1:\(port)")
            .replacingOccurrences(of: "jwks_file: config/examples/demo-jwks.json", with: "jwks_file: \(Self.root.path)/config/examples/demo-jwks.json")
            .replacingOccurrences(of: "workers: auto", with: "workers: 1")
        let config = try PortcullisConfig.parse(yaml: text)
        proxy = try ProxyServer(config: config, pipeline: try PipelineFactory(config: config))
        try proxy.start()
    }

    /// The demo key pair's signing half (public test material), to mint the tokens the file expects.
    static func demoKey() throws -> SigningKey {
        try SigningKey(pem: Array(try String(contentsOf: root.appendingPathComponent("config/examples/demo-signing-key.pem"), encoding: .utf8).utf8))
    }
}
