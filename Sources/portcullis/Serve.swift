import Admin
import ArgumentParser
import EventLoop
import Config
import Logging
import Proxy
import TokenSources
import KeyFetcher
#if canImport(Glibc)
import Glibc
#endif

/// `portcullis serve`: run the proxy until SIGTERM or SIGINT, then drain and exit 0.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the proxy with a config file.")

    @Option(name: .long, help: "Path to the YAML config file.")
    var config: String

    func run() throws {
        let settings = try loadConfigOrExit(config)
        try Runner.serve(settings, path: config)
    }
}

enum Runner {
    /// Everything that can fail on a bad config happens before the first socket is bound; then
    /// the server binds (a busy port fails here, still before serving), starts, and waits.
    static func serve(_ settings: PortcullisConfig, path: String?, banner: [String] = []) throws {
        let signals = blockShutdownSignals()
        let log = operationalLogger(settings.log.level)
        // Tokens for egress routes: the sources' files are read now (a bad one is a config error),
        // and the first tokens are asked for before serving, so the app's first call has one.
        let tokens: TokenProvider?
        let pipeline: PipelineFactory
        do {
            tokens = settings.tokenSources.isEmpty ? nil : try TokenProvider(sources: settings.tokenSources)
            pipeline = try PipelineFactory(config: settings, outbound: tokens.map { ProviderTokens(provider: $0) })
        } catch {
            printError("portcullis: \(error)")
            throw ExitCode(2)
        }
        if let tokens {
            registerRoutes(settings, with: tokens)
            do {
                try tokens.start()
            } catch {
                printError("portcullis: token sources: \(error)")
                throw ExitCode(1)
            }
            if !tokens.waitUntilReady(timeout: .seconds(10)) {
                log.warning("no token yet for: \(tokens.unready.joined(separator: "; ")); those egress calls get 503 until one is fetched")
            }
        }
        OpenFiles.raise(for: settings, log: log)
        let server: ProxyServer
        do {
            server = try ProxyServer(config: settings, pipeline: pipeline, version: Portcullis.version)
        } catch {
            printError("portcullis: \(error)")
            throw ExitCode(1)
        }
        // Bound with the traffic listeners, before anything is served: a busy port fails here.
        let admin: AdminServer?
        do {
            admin = try settings.admin.map { (settings) throws(SystemError) in try startAdmin(settings, server: server) }
        } catch {
            printError("portcullis: admin.address \(settings.admin?.address.description ?? ""): \(error)")
            throw ExitCode(1)
        }
        // Keys over HTTP(S): the first fetch happens here, before serving; refreshes run on the
        // fetcher's own thread from then on.
        if !server.startKeyFetcher() {
            log.warning("some issuers' keys could not be fetched yet; their tokens get 401 until they are")
        }
        // IP sets likewise: loaded here, before serving; a set that does not load fails closed
        // (readiness names it) and is retried in the background.
        if !server.startIPSets() {
            log.warning("some ip sets could not be loaded yet; rules using them fail closed until they are")
        }
        do {
            try server.start()
        } catch {
            printError("portcullis: \(error)")
            throw ExitCode(1)
        }
        for address in server.boundAddresses {
            log.info("listening on \(address), upstream \(settings.upstream?.url ?? "none (egress only)"), \(settings.workers.map(String.init) ?? "auto") workers")
        }
        if let admin { log.info("admin endpoints on \(admin.address): /healthz /readyz /metrics /config") }
        // The banner is what a person asked for (the demo's curl line): always shown.
        for line in banner { printError(line) }
        let reloader = path.map { ConfigReloader(path: $0, server: server, log: log) { config in
            // The token sources follow the file too: unchanged ones keep their tokens.
            guard let tokens else { return }
            do {
                try tokens.update(sources: config.tokenSources)
                registerRoutes(config, with: tokens)
            } catch {
                log.error("token sources not updated: \(error)")
            }
        } }
        var watcher: ConfigWatcher?
        if let reloader, let path {
            do {
                watcher = try ConfigWatcher(path: path) { reloader.reload(trigger: .fileChanged) }
                watcher?.start()
            } catch {
                log.warning("not watching the config file (\(error)); SIGHUP still reloads it")
            }
        }
        var signal: Int32 = 0
        var set = signals
        while true {
            sigwait(&set, &signal)
            guard signal == SIGHUP else { break }
            reloader?.reload(trigger: .signal)
        }
        watcher?.stop()
        log.info("signal \(signal): draining for up to \(settings.timeouts.drain)")
        server.shutdown(drainMillis: Int64(settings.timeouts.drain.components.seconds * 1000))
        admin?.stop()
        tokens?.stop()
        log.info("stopped")
    }

    /// Asks for the token of every egress route up front, so none waits for a first call.
    static func registerRoutes(_ config: PortcullisConfig, with tokens: TokenProvider) {
        for route in config.egress?.routes ?? [] {
            if let token = route.token { tokens.register(source: token.source, scope: token.scope) }
        }
    }

    /// The admin listener: its answers come from the running server, never from the traffic
    /// pipeline, and `/config` shows the configuration in effect (after any reload).
    static func startAdmin(_ settings: AdminSettings, server: ProxyServer) throws(SystemError) -> AdminServer {
        guard let address = SocketAddress(host: settings.address.host, port: settings.address.port) else {
            throw SystemError("bind", errno: EINVAL)
        }
        let routes = AdminRoutes(
            health: { HealthReport(problems: server.healthProblems()) },
            readiness: { server.unmetReadiness() },
            metrics: { server.renderMetrics() },
            config: { Array(server.currentConfig.effectiveJSON.utf8) })
        let admin = try AdminServer(address: address, routes: routes)
        try admin.start()
        return admin
    }

    /// Operational messages (not the access log) on stderr at the configured level.
    static func operationalLogger(_ level: LogSettings.Level) -> Logger {
        var logger = Logger(label: "portcullis") { StreamLogHandler.standardError(label: $0) }
        switch level {
        case .debug: logger.logLevel = .debug
        case .info: logger.logLevel = .info
        case .warning: logger.logLevel = .warning
        case .error: logger.logLevel = .error
        }
        return logger
    }

    /// Blocks SIGTERM/SIGINT/SIGHUP in every thread (workers inherit the mask) so the main thread alone
    /// receives them with sigwait; SIGPIPE is ignored so a closed stdout cannot kill the process.
    static func blockShutdownSignals() -> sigset_t {
        signal(SIGPIPE, SIG_IGN)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGHUP)
        pthread_sigmask(SIG_BLOCK, &set, nil)
        return set
    }
}
