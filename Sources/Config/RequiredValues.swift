/// Values a token's multi-valued claim (`roles`, or the words of `scp`) must hold: every one of
/// `allOf`, and at least one of `anyOf`. Both empty: no requirement.
///
/// Written in the file as a plain list (all of them, the meaning `required_roles` always had) or
/// as a mapping `{all_of: [...], any_of: [...]}`; with both keys, both must hold.
public struct RequiredValues: Sendable, Equatable {
    public var allOf: [String] = []
    public var anyOf: [String] = []

    public init(allOf: [String] = [], anyOf: [String] = []) {
        self.allOf = allOf
        self.anyOf = anyOf
    }

    public var isEmpty: Bool { allOf.isEmpty && anyOf.isEmpty }

    /// `all of [A, B]; any of [C, D]`, for `portcullis check`.
    public func summary(_ noun: String) -> String {
        var parts: [String] = []
        if !allOf.isEmpty { parts.append("\(noun) all of [\(allOf.joined(separator: ", "))]") }
        if !anyOf.isEmpty { parts.append("\(noun) any of [\(anyOf.joined(separator: ", "))]") }
        return parts.joined(separator: "; ")
    }

    /// A plain list, or `all_of` and/or `any_of`, each non-empty when written. With
    /// `allowEmptyList`, a plain `[]` means no requirement (what `required_roles: []` always meant).
    static func decode(_ node: ConfigNode, allowEmptyList: Bool) throws(ConfigError) -> RequiredValues {
        if case .sequence = node.node {
            let values = try node.nonEmptyStrings(allowEmpty: allowEmptyList)
            return RequiredValues(allOf: values)
        }
        guard case .mapping = node.node else {
            throw node.error("expected a list (every one required) or a mapping with all_of and/or any_of, found \(node.kindName)")
        }
        var map = try node.mapping()
        var result = RequiredValues()
        if let n = map.optional("all_of") { result.allOf = try n.nonEmptyStrings(allowEmpty: false) }
        if let n = map.optional("any_of") { result.anyOf = try n.nonEmptyStrings(allowEmpty: false) }
        try map.finish()
        guard !result.isEmpty else { throw node.error("write all_of and/or any_of, each with at least one value") }
        return result
    }
}

extension ConfigNode {
    /// A list of non-empty strings; an empty list only when `allowEmpty` (it would require nothing).
    func nonEmptyStrings(allowEmpty: Bool) throws(ConfigError) -> [String] {
        var values: [String] = []
        for element in try sequence() {
            let value = try element.string()
            guard !value.isEmpty else { throw element.error("an empty value matches no token") }
            values.append(value)
        }
        guard allowEmpty || !values.isEmpty else {
            throw error("an empty list requires nothing; list at least one value or remove the key")
        }
        return values
    }
}
