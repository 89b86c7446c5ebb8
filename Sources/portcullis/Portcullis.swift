import ArgumentParser
import Config

@main
struct Portcullis: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "portcullis",
        abstract: "A reverse-proxy sidecar that admits only allowed networks and valid bearer tokens.",
        version: version,
        subcommands: [Serve.self, Check.self, Demo.self, Backend.self, TokenCommand.self, JWKSCommand.self, Probe.self, DevIssuerCommand.self]
    )
}

/// Loads a config file or exits non-zero with one readable line; never a stack trace.
func loadConfigOrExit(_ path: String) throws -> PortcullisConfig {
    do {
        return try PortcullisConfig.load(path: path)
    } catch {
        printError("portcullis: \(path): \(error)")
        throw ExitCode(2)
    }
}

func printError(_ text: String) {
    var stderr = StandardError()
    print(text, to: &stderr)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var bytes = Array(string.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            _ = fputsBytes(buffer)
        }
    }
}
