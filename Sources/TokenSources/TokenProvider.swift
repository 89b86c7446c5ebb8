public import Config
public import EventLoop
import KeyFetcher
public import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Tokens for outgoing calls, per (source, scope), obtained on one background thread with
/// libcurl and handed to event loops without ever blocking them.
///
/// ```swift
/// let provider = try TokenProvider(sources: config.tokenSources)   // files and environment checked
/// provider.register(source: "service-a", scope: "api://service-b/.default")   // per egress route
/// try provider.start()                                              // first fetches begin
/// _ = provider.waitUntilReady(timeout: .seconds(10))                // at startup, before serving
/// switch provider.current(source: "service-a", scope: "api://service-b/.default") {  // on a loop
/// case .token(let token): ...          // Authorization: Bearer <token>
/// case .unavailable(let reason): ...   // 503 with the reason
/// }
/// provider.stop()
/// ```
///
/// - Caching: one token per (source, scope), shared by every caller and worker.
/// - Refresh ahead: at the earlier of 5 minutes before expiry and half the token's lifetime
///   (see ``RefreshSchedule``), by one request: the background thread is the only fetcher, and
///   a slot being fetched is not fetched again (single flight).
/// - Failure: the still-valid token goes on being used; retries back off per (source, scope)
///   from 1 s, doubling, to 5 minutes, with jitter. A slot with no valid token answers
///   ``TokenLookup/unavailable(reason:)`` at once, with the last error.
/// - Logging: the identity provider's errors with their code (`AADSTS…`) and description;
///   never a secret, an assertion or a token.
public final class TokenProvider: Sendable {
    /// Bounds on the requests.
    public struct Options: Sendable {
        /// A token request's whole time, connect included.
        public var requestTimeout: Duration
        /// Largest answer read from a token endpoint.
        public var maxResponseBytes: Int
        /// At most this many (source, scope) pairs; asks beyond it are refused, not fetched.
        public var maxSlots: Int

        public init(requestTimeout: Duration = .seconds(10), maxResponseBytes: Int = 64 * 1024, maxSlots: Int = 1024) {
            self.requestTimeout = requestTimeout
            self.maxResponseBytes = maxResponseBytes
            self.maxSlots = maxSlots
        }
    }

    struct Key: Hashable, Sendable {
        let source: String
        let scope: String
    }

    /// A configured source and the credential made from it.
    struct Source: Sendable {
        let settings: TokenSourceSettings
        let credential: any Credential
    }

    struct Shared {
        var sources: [String: Source] = [:]
        var slots: [Key: TokenSlot] = [:]
        var stopping = false
        var thread: pthread_t?
    }

    let options: Options
    let environment: @Sendable (String) -> String?
    let backoff = Backoff()
    let log: Logger
    let shared = Mutex(Shared())
    private let wakeFD: Int32

    /// Checks every source now: its files are read (a bad one is a ``ConfigError`` naming its
    /// key) and the platform kinds find their environment variables. Fetches nothing until
    /// ``start()``.
    public init(sources: [TokenSourceSettings], options: Options = .init(),
                environment: @escaping @Sendable (String) -> String? = TokenProvider.processEnvironment,
                logger: Logger = Logger(label: "portcullis.tokens")) throws(ConfigError) {
        let made = try Self.make(sources, environment: environment)
        self.options = options
        self.environment = environment
        log = logger
        do {
            wakeFD = try Sys.eventFD()
        } catch {
            throw ConfigError(key: "token_sources", line: nil, reason: "cannot start the token fetcher: \(error)")
        }
        shared.withLock { $0.sources = made }
    }

    deinit {
        Sys.close(wakeFD)
    }

    /// The process's environment variable `name` (the default for the platform kinds).
    public static func processEnvironment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// Names every configured source.
    public var sourceNames: [String] { shared.withLock { $0.sources.keys.sorted() } }

    private static func make(_ sources: [TokenSourceSettings], environment: (String) -> String?) throws(ConfigError) -> [String: Source] {
        var made: [String: Source] = [:]
        for source in sources {
            made[source.name] = Source(settings: source, credential: try CredentialFactory.make(source, environment: environment))
        }
        return made
    }

    /// Takes a reloaded configuration's sources; a problem (a bad file, a missing environment
    /// variable) is thrown before anything changes. A source whose settings are unchanged keeps
    /// its tokens and schedule. A changed one drops its tokens (they may be another client's)
    /// and fetches anew for the same scopes at once; a removed one drops its tokens, and asks
    /// for it are answered as for an unknown source.
    public func update(sources: [TokenSourceSettings]) throws(ConfigError) {
        let made = try Self.make(sources, environment: environment)
        let now = Sys.monotonicMillis()
        shared.withLock { shared in
            for (key, _) in shared.slots where !Self.sameMeaning(shared.sources[key.source]?.settings, made[key.source]?.settings) {
                shared.slots[key] = made[key.source] == nil ? nil : TokenSlot(now: now)
            }
            shared.sources = made
        }
        Sys.signalEventFD(wakeFD)
    }

    /// Whether two settings ask for the same tokens: what they say, not where in the file they
    /// say it (a line added above a source does not make its tokens stale).
    static func sameMeaning(_ a: TokenSourceSettings?, _ b: TokenSourceSettings?) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        return a.kind == b.kind && a.authority == b.authority && a.clientID == b.clientID && a.endpoint == b.endpoint
            && a.clientSecretFile?.value == b.clientSecretFile?.value && a.clientCertificate?.cert.value == b.clientCertificate?.cert.value
            && a.clientCertificate?.key.value == b.clientCertificate?.key.value && a.ca?.value == b.ca?.value
    }

    // MARK: For the event loops

    /// A token for `scope` from `source`, or why there is none, at once. Safe from any thread;
    /// takes a lock held only for lookups and bookkeeping, never during a fetch. A pair not
    /// registered before is registered now (its first fetch starts), and is unavailable until
    /// that fetch succeeds.
    public func current(source: String, scope: String) -> TokenLookup {
        let now = Sys.monotonicMillis()
        let key = Key(source: source, scope: scope)
        var wake = false
        let answer = shared.withLock { shared -> TokenLookup in
            guard shared.sources[source] != nil else { return .unavailable(reason: "no token source named '\(source)'") }
            guard let slot = shared.slots[key] else {
                guard shared.slots.count < options.maxSlots else {
                    return .unavailable(reason: "too many token scopes (\(options.maxSlots)); '\(scope)' is not fetched")
                }
                shared.slots[key] = TokenSlot(now: now)
                wake = true
                return .unavailable(reason: "token source '\(source)' has no token for '\(scope)' yet (the first request is under way)")
            }
            if slot.valid(at: now), let token = slot.token { return .token(token) }
            if let error = slot.lastError {
                return .unavailable(reason: "token source '\(source)' has no valid token for '\(scope)': \(error)")
            }
            return .unavailable(reason: "token source '\(source)' has no token for '\(scope)' yet (the first request is under way)")
        }
        if wake { Sys.signalEventFD(wakeFD) }
        return answer
    }

    // MARK: At startup

    /// Starts fetching a token for `scope` from `source` now, so that the first call finds one.
    /// Registering a pair twice changes nothing.
    public func register(source: String, scope: String) {
        let now = Sys.monotonicMillis()
        let (known, added) = shared.withLock { shared -> (Bool, Bool) in
            guard shared.sources[source] != nil else { return (false, false) }
            let key = Key(source: source, scope: scope)
            guard shared.slots[key] == nil, shared.slots.count < options.maxSlots else { return (true, false) }
            shared.slots[key] = TokenSlot(now: now)
            return (true, true)
        }
        if !known { log.error("token source '\(source)' is not configured; calls that need it get 503") }
        if added { Sys.signalEventFD(wakeFD) }
    }

    /// Blocks the calling thread (never a loop) until every registered pair has a token, or
    /// `timeout` passes; true when all have one. ``unready`` says which have not and why.
    public func waitUntilReady(timeout: Duration) -> Bool {
        let deadline = Sys.monotonicMillis() + timeout.wholeMilliseconds
        while true {
            let now = Sys.monotonicMillis()
            if shared.withLock({ $0.slots.values.allSatisfy { $0.valid(at: now) } }) { return true }
            if now >= deadline { return false }
            usleep(10_000)
        }
    }

    /// Pairs with no valid token, each as `source scope: reason`.
    public var unready: [String] {
        let now = Sys.monotonicMillis()
        return shared.withLock { shared in
            shared.slots.filter { !$0.value.valid(at: now) }.map { key, slot in
                "\(key.source) \(key.scope): " + (slot.lastError.map { "\($0)" } ?? "no token yet")
            }.sorted()
        }
    }

    /// Fetches finished for a pair (successful or not), for tests and metrics.
    public func fetchCount(source: String, scope: String) -> Int {
        shared.withLock { $0.slots[Key(source: source, scope: scope)]?.fetches ?? 0 }
    }

    // MARK: The background thread

    /// Starts the one fetching thread. Call once.
    public func start() throws(SystemError) {
        let thread = try Sys.startThread { [self] in run() }
        shared.withLock { $0.thread = thread }
    }

    /// Stops the thread (after a fetch under way, bounded by the request timeout) and waits
    /// for it. Safe to call more than once, and without ``start()``.
    public func stop() {
        let thread = shared.withLock { shared -> pthread_t? in
            shared.stopping = true
            defer { shared.thread = nil }
            return shared.thread
        }
        Sys.signalEventFD(wakeFD)
        if let thread { pthread_join(thread, nil) }
    }

    private func run() {
        // One libcurl handle for the thread's life: its connection to a token endpoint is kept
        // alive from one refresh to the next.
        let http = HTTPFetch()
        while true {
            let now = Sys.monotonicMillis()
            let (due, stopping, wait) = shared.withLock { shared -> ([Key], Bool, Int64) in
                var due: [Key] = []
                for (key, slot) in shared.slots where !slot.fetching && slot.nextFetch <= now {
                    shared.slots[key]?.fetching = true
                    due.append(key)
                }
                let next = shared.slots.values.filter { !$0.fetching }.map(\.nextFetch).min() ?? now + 60_000
                return (due, shared.stopping, max(0, min(next - now, 60_000)))
            }
            if stopping { return }
            for key in due where !shared.withLock({ $0.stopping }) { fetch(key, with: http) }
            if due.isEmpty {
                _ = try? Sys.poll(wakeFD, events: Int16(POLLIN), timeoutMillis: Int32(wait))
                Sys.drainEventFD(wakeFD)
            }
        }
    }
}
