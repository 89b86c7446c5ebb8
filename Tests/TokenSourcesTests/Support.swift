import Config
import DevIssuer
import Foundation
import IssuerTestSupport
import Logging
import Synchronization
import TokenSources

/// Every line a provider logs, to check what is said (codes) and what never is (secrets).
final class LogRecorder: Sendable {
    let lines = Mutex<[String]>([])

    var logger: Logger {
        var logger = Logger(label: "test.tokens") { _ in Handler(recorder: self) }
        logger.logLevel = .debug
        return logger
    }

    var text: String { lines.withLock { $0.joined(separator: "\n") } }

    struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var metadataProvider: Logger.MetadataProvider?
        var logLevel: Logger.Level = .debug

        func log(event: LogEvent) {
            recorder.lines.withLock { $0.append("\(event.level) \(event.message)") }
        }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
    }
}

/// Token sources for the test issuer: service A with its secret file (ending in a newline, as
/// an editor leaves it) or its certificate.
enum Sources {
    static let scopeB = "api://service-b/.default"

    static func yaml(_ issuer: DevIssuer, secretFile: String? = nil) throws -> String {
        let files = TestFiles.shared
        let secret = try secretFile ?? files.write("secret-a-\(UUID().uuidString)", TestIssuer.secretA + "\n")
        return """
        token_sources:
          with-secret:
            kind: client_secret
            authority: \(issuer.authority)
            client_id: \(TestIssuer.serviceA)
            client_secret_file: \(secret)
          with-certificate:
            kind: client_certificate
            authority: \(issuer.authority)
            client_id: \(TestIssuer.serviceA)
            client_certificate: {cert: \(files.clientCert), key: \(files.clientKey)}
        """
    }

    static func settings(_ yaml: String) throws -> [TokenSourceSettings] {
        try PortcullisConfig.parse(yaml: """
        listeners: [{address: "127.0.0.1:1"}]
        upstream: {url: "http://127.0.0.1:2"}
        \(yaml)
        """).tokenSources
    }

    /// Registers the pairs, starts the provider and waits (at most 10 s) until each has a token.
    static func start(_ provider: TokenProvider, _ source: String, scopes: [String] = [scopeB]) throws -> Bool {
        for scope in scopes { provider.register(source: source, scope: scope) }
        try provider.start()
        return provider.waitUntilReady(timeout: .seconds(10))
    }

    static func provider(_ issuer: DevIssuer, secretFile: String? = nil, log: LogRecorder = LogRecorder(),
                         environment: @escaping @Sendable (String) -> String? = { _ in nil }) throws -> TokenProvider {
        try TokenProvider(sources: try settings(try yaml(issuer, secretFile: secretFile)), environment: environment, logger: log.logger)
    }
}

extension TokenLookup {
    var token: String? {
        if case .token(let token) = self { return token }
        return nil
    }

    var reason: String? {
        if case .unavailable(let reason) = self { return reason }
        return nil
    }
}
