@testable import Metrics

/// The samples of an exposition keyed by the series as written (`name{a="b"}`), for asserting.
func samples(_ registry: MetricsRegistry) -> [String: String] {
    var result: [String: String] = [:]
    let text = String(decoding: registry.render(), as: UTF8.self)
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " ") else { continue }
        result[String(line[..<space])] = String(line[line.index(after: space)...])
    }
    return result
}

func text(_ registry: MetricsRegistry) -> String {
    String(decoding: registry.render(), as: UTF8.self)
}
