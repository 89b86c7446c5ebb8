import Yams

/// The root of a YAML file other than the proxy's own (the dev issuer's), read with the same
/// error style: a syntax error names its line, an empty file says what it needs.
enum ConfigDocument {
    static func root(yaml: String, needs: String) throws(ConfigError) -> ConfigNode {
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw ConfigError(key: "", line: nil, reason: "the file is empty; it needs at least \(needs)")
            }
            return ConfigNode(node: node, path: "")
        } catch let error as ConfigError {
            throw error
        } catch let error as YamlError {
            throw PortcullisConfig.yamlSyntaxError(error)
        } catch {
            throw ConfigError(key: "", line: nil, reason: "not valid YAML: \(error)")
        }
    }

    static func text(path: String) throws(ConfigError) -> String {
        do {
            return try readFile(path)
        } catch {
            throw ConfigError(key: "", line: nil, reason: "cannot read \(path): \(error.reason)")
        }
    }
}
