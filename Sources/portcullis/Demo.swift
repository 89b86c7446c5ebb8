import ArgumentParser
import Config
import DemoBackend

/// `portcullis demo`: the Quick start. Runs the built-in echo backend at the config's upstream
/// address and the proxy in front of it.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the proxy in front of a built-in demo backend that echoes what it receives."
    )

    @Option(name: .long, help: "Path to the YAML config file.")
    var config: String = "config/portcullis.yaml"

    func run() throws {
        let settings = try loadConfigOrExit(config)
        guard let upstream = settings.upstream else {
            printError("portcullis demo: \(config) has no upstream for the demo backend to stand in for")
            throw ExitCode(2)
        }
        _ = Runner.blockShutdownSignals()
        let backend: DemoBackend
        do {
            backend = try DemoBackend(host: upstream.host, port: upstream.port)
        } catch {
            printError("portcullis demo: cannot start the demo backend on \(upstream.url): \(error)")
            throw ExitCode(1)
        }
        backend.start()
        let listener = settings.listeners[0].address
        let host = listener.host == "0.0.0.0" ? "127.0.0.1" : listener.host == "::" ? "::1" : listener.host
        let url = listener.isIPv6 ? "http://[\(host)]:\(listener.port)/hello" : "http://\(host):\(listener.port)/hello"
        try Runner.serve(settings, path: config, banner: [
            "portcullis demo: backend echoing on \(upstream.url)",
            "portcullis demo: try   curl -i \(url)",
        ])
        backend.stop()
    }
}
