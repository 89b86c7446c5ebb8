import Config
import Foundation
import Testing

/// The configuration examples users copy: every file in config/examples is valid, and every
/// example the README quotes (a yaml block whose first line is `# config/examples/NAME.yaml`) is
/// that file, byte for byte, so the documentation cannot drift from what is tested.
@Suite("config/examples and the README")
struct ExampleFilesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let examples = root.appendingPathComponent("config/examples")

    static func exampleFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: examples.path).filter { $0.hasSuffix(".yaml") }.sorted()
    }

    @Test func everyExampleFileIsAValidConfig() throws {
        let files = try Self.exampleFiles()
        #expect(files.count >= 5)
        for file in files {
            do {
                _ = try PortcullisConfig.load(path: Self.examples.appendingPathComponent(file).path)
            } catch {
                Issue.record("config/examples/\(file): \(error)")
            }
        }
    }

    @Test func theReadmeQuotesExamplesVerbatimAndNamesEveryFile() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        var quoted: [String] = []
        // Split on fences: odd pieces are the insides of code blocks.
        let pieces = readme.components(separatedBy: "```")
        for (index, piece) in pieces.enumerated() where index % 2 == 1 && piece.hasPrefix("yaml\n# config/examples/") {
            let lines = piece.dropFirst("yaml\n".count).split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(lines[0].dropFirst("# config/examples/".count))
            let file = try String(contentsOf: Self.examples.appendingPathComponent(name), encoding: .utf8)
            #expect(lines.count == 2 && String(lines[1]) == file, "the README's copy of config/examples/\(name) differs from the file")
            quoted.append(name)
        }
        // The issue 12 features are documented by the very files this suite loads.
        for name in ["entra-multi-tenant.yaml", "dry-run-rollout.yaml", "routes.yaml", "ip-sets.yaml"] {
            #expect(quoted.contains(name), "the README does not quote config/examples/\(name)")
        }
        for file in try Self.exampleFiles() {
            #expect(readme.contains("config/examples/\(file)"), "the README never mentions config/examples/\(file)")
        }
    }
}
