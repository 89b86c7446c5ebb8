public import Config
import KeyFetcher
public import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Loads the configured IP sets and keeps them fresh, on one background thread (the shared
/// ``FetchScheduler``), never on an event loop: a `url` set is fetched with libcurl, a `file`
/// set read again, every `refresh`; a failure keeps the last good set and retries with backoff.
///
/// Each load or failure is logged (one line, with the prefix count) and reported to the
/// owner, which compiles the network rules anew and publishes them.
public final class IPSetLoader: Sendable {
    public enum Report: Sendable {
        case loaded(LoadedIPSet)
        case failed(String)
    }

    /// Whole-transfer bound of one fetch (connecting: at most 5 s of it).
    public static let fetchTimeout: Duration = .seconds(15)

    private let scheduler: FetchScheduler<IPSetSource, LoadedIPSet>
    private let holding: Holding

    /// `holding`: the sets whose prefixes the owner already has (loaded before the loader
    /// existed); they are loaded again after their `refresh`, the others at once.
    public init(sources: [IPSetSource], holding: Set<String> = [], logger: Logger = Logger(label: "portcullis.ipsets"),
                report: @escaping @Sendable (IPSetSource, Report) -> Void) {
        let held = Holding(holding)
        self.holding = held
        scheduler = FetchScheduler(jobs: [], fetch: { _, source in
            switch Self.load(source) {
            case .success(let set): .fetched(set, refreshAfterMillis: source.refreshMillis)
            case .failure(let error): .failed(error.description)
            }
        }, deliver: { _, source, delivery in
            switch delivery {
            case .fetched(let set):
                Self.logLoaded(set, from: source, logger)
                held.names.withLock { _ = $0.insert(source.name) }
                report(source, .loaded(set))
            case .failed(let reason, let retry):
                let kept = held.names.withLock { $0.contains(source.name) }
                logger.warning("ip set '\(source.name)': \(reason); \(kept ? "keeping the last good set" : Self.failClosed), retrying in \((retry + 999) / 1000)s")
                report(source, .failed(reason))
            }
        })
        scheduler.update(jobs: sources.map { ($0.name, $0) }, fresh: Self.fresh(sources, holding))
    }

    static let failClosed = "not loaded yet, so rules using it fail closed (an allow rule matches no address through it, a deny rule every address)"

    /// Takes a reloaded configuration's sets. One whose source is unchanged keeps its schedule;
    /// a new or changed one is loaded at once by the background thread unless it is in
    /// `holding` (the reload loaded it already); one that is gone is no longer loaded.
    public func update(sources: [IPSetSource], holding names: Set<String>) {
        holding.names.withLock { $0 = names }
        scheduler.update(jobs: sources.map { ($0.name, $0) }, fresh: Self.fresh(sources, names))
    }

    private static func fresh(_ sources: [IPSetSource], _ holding: Set<String>) -> [String: Int64] {
        Dictionary(sources.filter { holding.contains($0.name) }.map { ($0.name, $0.refreshMillis) }, uniquingKeysWith: { a, _ in a })
    }

    /// Loads every set that is due (all of them, at startup) on the calling thread, each
    /// bounded by ``fetchTimeout``, so the first sets are in before serving; then starts the
    /// background thread.
    public func start(waitForFirstLoad: Bool = true) {
        if waitForFirstLoad { scheduler.runDueNow() }
        scheduler.startInBackground()
    }

    public func stop() {
        scheduler.stop()
    }

    /// Loads `source` on the calling thread and logs the outcome: a reload loads the sets it
    /// adds or changes before it takes effect, so they never start out fail-closed.
    public static func loadNow(_ source: IPSetSource, logger: Logger = Logger(label: "portcullis.ipsets")) -> Result<LoadedIPSet, IPSetError> {
        let result = load(source)
        switch result {
        case .success(let set):
            logLoaded(set, from: source, logger)
        case .failure(let error):
            logger.warning("ip set '\(source.name)': \(error); \(failClosed), retrying in the background")
        }
        return result
    }

    /// Fetches or reads `source` and parses it whole; nothing is logged (`portcullis check`
    /// reads file sets through it).
    public static func load(_ source: IPSetSource) -> Result<LoadedIPSet, IPSetError> {
        let bytes: [UInt8]
        switch source.source {
        case .file(let path):
            do {
                bytes = try readFileBytes(path, limit: IPSetDocument.maxBytes)
            } catch {
                return .failure(.unreadable(path: path, reason: error.reason))
            }
        case .url(let url):
            guard let http = HTTPFetch() else { return .failure(.fetch(url: url, reason: "libcurl could not be initialised")) }
            let timeout = Int(fetchTimeout.components.seconds * 1000)
            switch http.get(url, timeoutMillis: timeout, maxBytes: IPSetDocument.maxBytes, caFile: source.caFile, userAgent: "portcullis-ipsets") {
            case .failure(let failure): return .failure(.fetch(url: url, reason: failure.description))
            case .success(let response): bytes = response.body
            }
        }
        return IPSetDocument.parse(bytes, format: source.format, tag: source.tag).map { parsed in
            LoadedIPSet(name: source.name, prefixes: parsed.prefixes, loadedAt: Double(time(nil)), version: parsed.version)
        }
    }

    private static func logLoaded(_ set: LoadedIPSet, from source: IPSetSource, _ log: Logger) {
        let version = set.version.isEmpty ? "" : " (\(set.version))"
        log.info("ip set '\(source.name)': loaded \(set.prefixes.count) \(set.prefixes.count == 1 ? "prefix" : "prefixes") from \(source.location)\(version)")
    }
}

/// The names of the sets whose prefixes are in use, shared with the scheduler's delivery.
private final class Holding: Sendable {
    let names: Mutex<Set<String>>
    init(_ names: Set<String>) { self.names = Mutex(names) }
}
