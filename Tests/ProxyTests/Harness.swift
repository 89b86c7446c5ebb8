import Config
import DemoBackend
import EventLoop
import Proxy
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A proxy on 127.0.0.1 (ephemeral port, one worker) in front of a recording demo backend.
final class Harness {
    let backend: DemoBackend
    let server: ProxyServer
    let port: UInt16
    let config: PortcullisConfig

    init(upstreamPort: UInt16? = nil, extraYAML: String = "", listenerYAML: String = "",
         timeouts: String = "{request_header: 1s, idle: 5s, drain: 1s}", responseTimeout: String = "1s",
         recording: Bool = true, upstreamProtocol: String = "http1") throws {
        backend = try DemoBackend(host: "127.0.0.1", port: 0, recording: recording)
        backend.start()
        let yaml = """
        listeners: [{address: "127.0.0.1:0"\(listenerYAML)}]
        upstream:
          url: http://127.0.0.1:\(upstreamPort ?? backend.address.port)
          connect_timeout: 1s
          response_timeout: \(responseTimeout)
          protocol: \(upstreamProtocol)
        workers: 1
        timeouts: \(timeouts)
        log: {access: false}
        \(extraYAML)
        """
        config = try PortcullisConfig.parse(yaml: yaml)
        server = try ProxyServer(config: config, pipeline: try PipelineFactory(config: config))
        try server.start()
        port = server.boundAddresses[0].port
    }

    deinit {
        server.shutdown(drainMillis: 200)
        backend.stop()
    }

    var received: String {
        backend.recorded.withLock { String(decoding: $0, as: UTF8.self) }
    }

    var receivedCount: Int { backend.recorded.withLock { $0.count } }

    /// Sends raw bytes on a new connection and reads until the proxy closes it or `responses`
    /// complete responses have arrived (bounded by 3 seconds).
    func exchange(_ request: String, responses: Int = 1, halfClose: Bool = false) throws -> RawResponse {
        try RawClient.exchange(port: port, bytes: Array(request.utf8), responses: responses, halfClose: halfClose)
    }
}
