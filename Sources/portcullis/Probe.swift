import ArgumentParser
import Config

/// `portcullis probe URL`: a health check that needs no curl in the image, for a container
/// HEALTHCHECK or a Kubernetes exec probe (the kubelet's httpGet cannot reach a pod's loopback).
struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "GET a URL: exit 0 on a 2xx answer, 1 otherwise (for container and Kubernetes probes).",
        discussion: "Only http:// URLs whose host is a numeric IPv4 or IPv6 address or localhost, e.g. "
            + "portcullis probe http://127.0.0.1:9901/readyz. On failure, one line on stderr says why."
    )

    @Argument(help: "The URL to GET, e.g. http://127.0.0.1:9901/readyz.")
    var url: String

    @Option(name: .long, help: "How long connecting and reading the answer may take together, e.g. 2s or 500ms.")
    var timeout: String = "2s"

    func run() throws {
        do throws(ProbeError) {
            guard let limit = Duration(configText: timeout), limit > .zero else { throw .badTimeout(timeout) }
            let target = try ProbeTarget.parse(url)
            let status = try ProbeClient.get(target, timeout: limit)
            guard (200...299).contains(status.code) else { throw .status(status.line) }
            print(status.line)
        } catch {
            printError("portcullis probe: \(url): \(error)")
            throw ExitCode(1)
        }
    }
}
