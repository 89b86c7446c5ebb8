import Config
import Logging
import Proxy
import Synchronization

/// Re-reads the config file and hands it to the server; one line in the log either way.
///
/// A change seen by the file watch whose bytes are the same as the last file read is
/// nothing to do (events come in bursts, and a `touch` changes nothing); SIGHUP always
/// reloads, since certificates and key files named by an unchanged config may have changed.
final class ConfigReloader: Sendable {
    enum Trigger: String {
        case signal = "SIGHUP"
        case fileChanged = "file change"
    }

    let path: String
    let server: ProxyServer
    let log: Logger
    /// Told of each configuration put into effect (what lives outside the server follows it).
    let applied: @Sendable (PortcullisConfig) -> Void
    private let lastBytes: Mutex<[UInt8]?>

    init(path: String, server: ProxyServer, log: Logger, applied: @escaping @Sendable (PortcullisConfig) -> Void = { _ in }) {
        self.path = path
        self.server = server
        self.log = log
        self.applied = applied
        lastBytes = Mutex(try? PortcullisConfig.readBytes(path: path))
    }

    func reload(trigger: Trigger) {
        var bytes: [UInt8]?
        do {
            let read = try PortcullisConfig.readBytes(path: path)
            if trigger == .fileChanged, lastBytes.withLock({ $0 == read }) { return }
            lastBytes.withLock { $0 = read }
            bytes = read
        } catch {
            // Mid-swap or removed: counted and logged as a refused reload; the next event retries.
            bytes = nil
        }
        do {
            let outcome = try server.reload { () throws(ConfigError) -> PortcullisConfig in
                guard let bytes else { return try PortcullisConfig.load(path: path) }
                return try PortcullisConfig.parse(yaml: String(decoding: bytes, as: UTF8.self))
            }
            var line = "\(trigger.rawValue): \(path) reloaded, configuration generation \(outcome.generation)"
            if !outcome.needsRestart.isEmpty {
                line += "; changed but applied only at the next start: \(outcome.needsRestart.joined(separator: ", "))"
            }
            log.info("\(line)")
            applied(server.currentConfig)
        } catch {
            log.error("\(trigger.rawValue): \(path) not reloaded, the running configuration stays: \(error)")
        }
    }
}
