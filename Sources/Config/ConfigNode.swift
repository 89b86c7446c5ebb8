import Yams

/// A YAML node together with where it sits in the file, so that every error can name its key.
///
/// Section decoders read a mapping through ``MappingReader``, which records the keys it was asked
/// for; ``MappingReader/finish()`` then rejects any key nobody asked for, so a typo such as
/// `conect_timeout` is an error instead of a silently ignored setting.
struct ConfigNode {
    let node: Node
    let path: String

    init(node: Node, path: String) {
        self.node = node
        self.path = path
    }

    var line: Int? { node.mark?.line }

    func error(_ reason: String) -> ConfigError {
        ConfigError(key: path, line: line, reason: reason)
    }

    func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// Opens this node as a mapping whose keys are checked against `allowed` when finished.
    func mapping() throws(ConfigError) -> MappingReader {
        guard case .mapping(let mapping) = node else {
            throw error("expected a mapping of keys, found \(kindName)")
        }
        return try MappingReader(mapping: mapping, owner: self)
    }

    /// The elements of a sequence; a single scalar is not accepted in place of a list.
    func sequence() throws(ConfigError) -> [ConfigNode] {
        guard case .sequence(let sequence) = node else {
            throw error("expected a list, found \(kindName)")
        }
        return sequence.enumerated().map { ConfigNode(node: $0.element, path: "\(path)[\($0.offset)]") }
    }

    func string() throws(ConfigError) -> String {
        guard case .scalar(let scalar) = node else { throw error("expected a string, found \(kindName)") }
        return scalar.string
    }

    func int(in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard case .scalar(let scalar) = node, let value = Int(scalar.string) else {
            throw error("expected a whole number, found \(describe)")
        }
        guard range.contains(value) else {
            throw error("\(value) is out of range; expected \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    func fraction() throws(ConfigError) -> Double {
        guard case .scalar(let scalar) = node, let value = Double(scalar.string), value.isFinite else {
            throw error("expected a number from 0.0 to 1.0, found \(describe)")
        }
        guard (0...1).contains(value) else { throw error("\(scalar.string) is out of range; expected 0.0 to 1.0") }
        return value
    }

    func bool() throws(ConfigError) -> Bool {
        guard case .scalar(let scalar) = node else { throw error("expected true or false, found \(kindName)") }
        switch scalar.string {
        case "true": return true
        case "false": return false
        default: throw error("expected true or false, found \(describe)")
        }
    }

    /// A duration written as a number and a unit: `500ms`, `2s`, `1m`, `1h` (a bare `0` is zero).
    func duration() throws(ConfigError) -> Duration {
        let text = try string()
        guard let value = Self.parseDuration(text) else {
            throw error("'\(text)' is not a duration; write a number and a unit, e.g. 500ms, 2s, 1m or 1h")
        }
        return value
    }

    func stringList() throws(ConfigError) -> [String] {
        var result: [String] = []
        for element in try sequence() { result.append(try element.string()) }
        return result
    }

    /// The entries of a mapping whose keys are names the file chooses (`token_sources`,
    /// `ip_sets`), in file order: each name of letters, digits, '-', '_' and '.', each with
    /// settings. `what` names an entry in errors ("source"); `needs` says what it must hold.
    func namedEntries(_ what: String, needs: String) throws(ConfigError) -> [(name: String, node: ConfigNode)] {
        var map = try mapping()
        var entries: [(name: String, node: ConfigNode)] = []
        for name in map.keys {
            guard let entry = map.optional(name) else {
                throw ConfigError(key: child(name), line: line, reason: "the \(what) needs its settings (\(needs))")
            }
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
                throw entry.error("'\(name)' is not \(what.first.map { "aeiou".contains($0) } == true ? "an" : "a") \(what) name; use letters, digits, '-', '_' and '.'")
            }
            entries.append((name, entry))
        }
        try map.finish()
        return entries
    }

    static func parseDuration(_ text: String) -> Duration? {
        if text == "0" { return .zero }
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for (unit, millis) in units where text.hasSuffix(unit) {
            let number = text.dropLast(unit.count)
            // "ms" ends in "s": a number part that still ends in "m" belongs to the "ms" case.
            guard !number.isEmpty, number.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let value = Int64(number), value <= 1_000_000_000 else { continue }
            return .milliseconds(value * millis)
        }
        return nil
    }

    var kindName: String {
        switch node {
        case .scalar: "a single value"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    var describe: String {
        if case .scalar(let scalar) = node { return "'\(scalar.string)'" }
        return kindName
    }
}

/// Reads the keys of one mapping and remembers which were read, so unknown keys can be refused.
struct MappingReader {
    let owner: ConfigNode
    private var entries: [(key: String, node: Node, line: Int?)] = []
    private var used: Set<String> = []

    init(mapping: Node.Mapping, owner: ConfigNode) throws(ConfigError) {
        self.owner = owner
        var seen: Set<String> = []
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                throw owner.error("keys must be plain names")
            }
            let name = scalar.string
            guard seen.insert(name).inserted else {
                throw ConfigError(key: owner.child(name), line: key.mark?.line, reason: "the key appears twice")
            }
            entries.append((name, value, key.mark?.line))
        }
    }

    /// The node under `key`, or nil when absent (an explicit `null` counts as absent).
    mutating func optional(_ key: String) -> ConfigNode? {
        used.insert(key)
        guard let entry = entries.first(where: { $0.key == key }) else { return nil }
        if case .scalar(let scalar) = entry.node, scalar.style == .plain, ["", "null", "~", "Null", "NULL"].contains(scalar.string) {
            return nil
        }
        return ConfigNode(node: entry.node, path: owner.child(key))
    }

    mutating func required(_ key: String) throws(ConfigError) -> ConfigNode {
        guard let node = optional(key) else {
            if let typo = entries.first(where: { !used.contains($0.key) && editDistance($0.key, key) <= 2 }) {
                throw ConfigError(key: owner.child(typo.key), line: typo.line,
                                  reason: "unknown key '\(typo.key)'; did you mean '\(key)'? (it is required here)")
            }
            throw owner.error("the required key '\(key)' is missing")
        }
        return node
    }

    /// Whether the file has `key` here at all (without marking it as read).
    func has(_ key: String) -> Bool { entries.contains { $0.key == key } }

    /// The keys in file order, for mappings whose keys are data (`claim_headers`).
    var keys: [String] { entries.map(\.key) }

    /// Fails on the first key that no decoder asked for, suggesting the closest known one.
    func finish() throws(ConfigError) {
        for entry in entries where !used.contains(entry.key) {
            var reason = "unknown key '\(entry.key)'"
            if let guess = used.min(by: { editDistance($0, entry.key) < editDistance($1, entry.key) }),
               editDistance(guess, entry.key) <= 2 {
                reason += "; did you mean '\(guess)'?"
            } else {
                reason += "; known keys here: " + used.sorted().joined(separator: ", ")
            }
            throw ConfigError(key: owner.child(entry.key), line: entry.line, reason: reason)
        }
    }
}

private func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.utf8), b = Array(b.utf8)
    var previous = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in stride(from: 1, through: b.count, by: 1) {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return a.isEmpty ? b.count : previous[b.count]
}
