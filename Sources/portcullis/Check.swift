import ArgumentParser
import Config

/// `portcullis check`: validate a file and print the settings as they will be applied.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a config file and print the effective settings."
    )

    @Option(name: .long, help: "Path to the YAML config file.")
    var config: String

    func run() throws {
        let settings = try loadConfigOrExit(config)
        print(EffectiveSettings.render(settings))
    }
}

enum EffectiveSettings {
    static func render(_ c: PortcullisConfig) -> String {
        var lines: [String] = ["config OK"]
        for l in c.listeners {
            lines.append("listener      \(l.address)\(l.proxyProtocol ? " (PROXY protocol)" : "")")
        }
        lines.append("upstream      \(c.upstream.url)  idle pool \(c.upstream.maxIdleConnections)/worker, connect \(c.upstream.connectTimeout), response \(c.upstream.responseTimeout)")
        lines.append("workers       \(c.workers.map(String.init) ?? "auto")")
        lines.append("limits        header bytes \(c.limits.maxHeaderBytes), headers \(c.limits.maxHeaders), target bytes \(c.limits.maxRequestTargetBytes)")
        lines.append("timeouts      request header \(c.timeouts.requestHeader), idle \(c.timeouts.idle), drain \(c.timeouts.drain)")
        lines.append("log           level \(c.log.level.rawValue), access \(c.log.access ? "on" : "off")")
        return lines.joined(separator: "\n")
    }
}
