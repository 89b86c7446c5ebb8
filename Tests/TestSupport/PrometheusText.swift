import Foundation

/// The metrics exposition read by a real Prometheus text parser: Python's `prometheus_client`
/// (`text_string_to_metric_families`), installed by scripts/setup.sh.
public enum PrometheusText {
    static let script = """
    import json, sys
    from prometheus_client.parser import text_string_to_metric_families
    out = []
    for family in text_string_to_metric_families(sys.stdin.read()):
        for s in family.samples:
            out.append({"family": family.name, "type": family.type, "help": family.documentation,
                        "name": s.name, "labels": s.labels, "value": s.value})
    print(json.dumps(out))
    """

    public struct Sample: Decodable, Sendable {
        public let family: String
        public let type: String
        public let help: String
        public let name: String
        public let labels: [String: String]
        public let value: Double
    }

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Every sample of `exposition`; throws with the parser's complaint when it rejects the text.
    public static func parse(_ exposition: [UInt8]) throws -> [Sample] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(exposition))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let problem = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ParseError(description: "python3 failed (is prometheus-client installed? scripts/setup.sh): \(problem)")
        }
        return try JSONDecoder().decode([Sample].self, from: data)
    }
}
