import ArgumentParser
import DemoBackend
#if canImport(Glibc)
import Glibc
#endif

/// `portcullis backend`: only the demo echo backend, for load runs against other proxies.
struct Backend: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run only the demo echo backend (for load tests).")

    @Option(name: .long, help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(name: .long, help: "Port to listen on.")
    var port: UInt16 = 8000

    func run() throws {
        _ = Runner.blockShutdownSignals()
        do {
            let backend = try DemoBackend(host: host, port: port)
            backend.start()
            printError("portcullis backend: echoing on \(backend.address)")
            var set = Runner.blockShutdownSignals()
            var signal: Int32 = 0
            sigwait(&set, &signal)
            backend.stop()
        } catch {
            printError("portcullis backend: \(error)")
            throw ExitCode(1)
        }
    }
}
