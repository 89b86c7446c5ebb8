public import Config
public import Tokens
import Logging
import Synchronization
import CShims
#if canImport(Glibc)
import Glibc
#endif

/// Fetches issuers' key sets (a JWKS URL, or OIDC discovery then its jwks_uri) on one background
/// thread, never on an event loop, and hands each new ``KeySet`` to `publish`.
///
/// Refresh follows Cache-Control max-age clamped to [min_refresh, max_refresh], else `refresh`.
/// A failed fetch keeps the last good set (nothing is published) and retries with exponential
/// backoff. ``requestRefresh(issuer:)`` asks for an early fetch when a token names an unknown
/// kid; it is rate-limited per issuer so a flood of random kids cannot hammer the provider.
public final class KeyFetcher: Sendable {
    public struct Source: Sendable, Equatable {
        public let issuer: String
        public let location: IssuerSettings.KeySource
        /// A PEM bundle to trust instead of the system's roots (`auth.issuers[].ca`).
        public let caFile: String?

        public init(issuer: String, location: IssuerSettings.KeySource, caFile: String? = nil) {
            self.issuer = issuer
            self.location = location
            self.caFile = caFile
        }
    }

    struct IssuerState {
        var nextFetch: Int64 = 0
        var failures = 0
        // Far enough in the past that the first early fetch is always allowed, without overflow.
        var lastEarlyFetch: Int64 = -(1 << 50)
        var ready = false
    }

    struct Shared {
        var states: [String: IssuerState] = [:]
        var requested: Set<String> = []
        /// `issuer kid` → when that unknown kid last asked for a fetch (monotonic ms).
        var unknownKids: [String: Int64] = [:]
        var stopping = false
        var fetches = 0
        var sources: [Source] = []
    }

    let settings: KeyRefreshSettings
    let publish: @Sendable (String, KeySet) -> Void
    /// Told of every fetch on the fetcher's thread: the issuer, whether it succeeded, and the
    /// number of keys published (metrics).
    let observe: (@Sendable (_ issuer: String, _ succeeded: Bool, _ keys: Int) -> Void)?
    private let shared = Mutex(Shared())
    private let wakeFD: Int32
    private let thread = Mutex<pthread_t?>(nil)
    let log = Logger(label: "portcullis.keys")

    public init(sources: [Source], settings: KeyRefreshSettings,
                observe: (@Sendable (_ issuer: String, _ succeeded: Bool, _ keys: Int) -> Void)? = nil,
                publish: @escaping @Sendable (String, KeySet) -> Void) {
        self.settings = settings
        self.observe = observe
        self.publish = publish
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        shared.withLock { state in
            state.sources = sources
            for source in sources { state.states[source.issuer] = IssuerState() }
        }
    }

    /// The issuers whose keys are fetched, as the configuration now says.
    public var sources: [Source] { shared.withLock { $0.sources } }

    /// Takes a reloaded configuration's sources. An issuer whose source is unchanged keeps its
    /// schedule and its keys (no fetch because of the reload); a new or changed one is fetched
    /// at once by the background thread; one that is gone is no longer fetched.
    public func update(sources: [Source]) {
        shared.withLock { state in
            var states: [String: IssuerState] = [:]
            for source in sources {
                if let old = state.sources.first(where: { $0.issuer == source.issuer }), old == source,
                   let kept = state.states[source.issuer] {
                    states[source.issuer] = kept
                } else {
                    states[source.issuer] = IssuerState()
                }
            }
            state.sources = sources
            state.states = states
            state.requested = state.requested.filter { states[$0] != nil }
        }
        wake()
    }

    deinit {
        if wakeFD >= 0 { close(wakeFD) }
    }

    /// Fetches and publishes the first key set of every issuer, waiting at most the fetch timeout
    /// per issuer (at startup, before serving), then starts the background thread.
    public func start() {
        for source in sources { runFetch(source, now: Self.nowMillis()) }
        startInBackground()
    }

    /// Starts the background thread only: every issuer is fetched there at once (a reload that
    /// adds the first fetched issuer must not hold up the reload on the provider).
    public func startInBackground() {
        let box = Unmanaged.passRetained(self)
        var handle = pthread_t()
        pthread_create(&handle, nil, { raw in
            guard let raw else { return nil }
            Unmanaged<KeyFetcher>.fromOpaque(raw).takeRetainedValue().loop()
            return nil
        }, box.toOpaque())
        thread.withLock { $0 = handle }
    }

    public func stop() {
        shared.withLock { $0.stopping = true }
        wake()
        if let handle = thread.withLock({ state -> pthread_t? in let t = state; state = nil; return t }) {
            pthread_join(handle, nil)
        }
    }

    /// Asks for an early fetch of `issuer`'s keys. Safe and cheap from any thread (an event loop
    /// calls it when a token names a kid it does not know).
    public func requestRefresh(issuer: String, kid: String? = nil) {
        let now = Self.nowMillis()
        let ttl = millis(settings.unknownKidTTL)
        let accepted = shared.withLock { state -> Bool in
            guard state.states[issuer] != nil else { return false }
            if let kid {
                // The same unknown kid again: the last fetch did not bring it; another would not either.
                let key = issuer + " " + kid
                if let last = state.unknownKids[key], now - last < ttl { return false }
                if state.unknownKids.count >= 4096 { state.unknownKids = state.unknownKids.filter { now - $0.value < ttl } }
                if state.unknownKids.count >= 4096 { return false }
                state.unknownKids[key] = now
            }
            return state.requested.insert(issuer).inserted
        }
        if accepted { wake() }
    }

    /// True once every issuer has had a key set published.
    public var isReady: Bool { shared.withLock { $0.states.values.allSatisfy(\.ready) } }

    /// Fetch attempts so far (tests observe the rate limit through it).
    public var fetchCount: Int { shared.withLock { $0.fetches } }

    private func wake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    static func nowMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    private func loop() {
        while true {
            let now = Self.nowMillis()
            let intervalMillis = millis(settings.unknownKidInterval)
            // Decide what is due under the lock; fetch outside it.
            let (due, stopping, wait, sources) = shared.withLock { state -> ([String], Bool, Int64, [Source]) in
                var due: [String] = []
                for issuer in state.requested {
                    if var issuerState = state.states[issuer], now - issuerState.lastEarlyFetch >= intervalMillis {
                        issuerState.lastEarlyFetch = now
                        state.states[issuer] = issuerState
                        due.append(issuer)
                    }
                }
                state.requested.removeAll()
                for (issuer, issuerState) in state.states where issuerState.nextFetch <= now && !due.contains(issuer) {
                    due.append(issuer)
                }
                let next = state.states.values.map(\.nextFetch).min() ?? now + 60_000
                return (due, state.stopping, max(0, min(next - now, 60_000)), state.sources)
            }
            if stopping { return }
            for issuer in due {
                guard let source = sources.first(where: { $0.issuer == issuer }) else { continue }
                runFetch(source, now: now)
            }
            if due.isEmpty {
                var poller = pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)
                _ = poll(&poller, 1, Int32(wait))
                var value: UInt64 = 0
                _ = read(wakeFD, &value, 8)
            }
        }
    }

    private func runFetch(_ source: Source, now: Int64) {
        shared.withLock { $0.fetches += 1 }
        let result = fetch(source)
        var published: KeySet?
        var counted = false
        defer {
            if counted { observe?(source.issuer, published != nil, published?.keys.count ?? 0) }
            if let published { publish(source.issuer, published) }
        }
        shared.withLock { state in
            // A reload may have dropped or changed the source while it was being fetched.
            guard state.sources.contains(source), var issuerState = state.states[source.issuer] else { return }
            counted = true
            switch result {
            case .success(let (keys, maxAge, body)):
                // Kept for the next start: it then serves at once, provider or not.
                if let dir = settings.stateDir {
                    let now = Double(time(nil))
                    if !KeyStateFile.write(dir: dir, issuer: source.issuer, fetchedAt: now, jwks: body) {
                        log.warning("keys for \(source.issuer): could not write them to \(dir) (errno \(errno)); a restart will need the provider")
                    }
                }
                issuerState.failures = 0
                issuerState.ready = true
                var seconds = maxAge.map(Int64.init) ?? settings.refresh.components.seconds
                seconds = max(settings.minRefresh.components.seconds, min(settings.maxRefresh.components.seconds, seconds))
                issuerState.nextFetch = Self.nowMillis() + seconds * 1000
                state.states[source.issuer] = issuerState
                published = keys
            case .failure(let reason):
                issuerState.failures += 1
                // 1 s, 2 s, 4 s … capped at 5 min, with up to 25% jitter so replicas spread out.
                let base = min(Int64(1000) << Int64(min(issuerState.failures - 1, 9)), 300_000)
                issuerState.nextFetch = Self.nowMillis() + base + Int64.random(in: 0...(base / 4))
                state.states[source.issuer] = issuerState
                log.warning("keys for \(source.issuer): \(reason); keeping the last good set, retrying in \(base / 1000)s")
            }
        }
    }

    /// One fetch of an issuer's keys; the JWKS must parse into at least one usable key.
    func fetch(_ source: Source) -> Result<(KeySet, Int?, [UInt8]), FetchError> {
        guard let http = HTTPFetch() else { return .failure(FetchError("libcurl could not be initialised")) }
        let timeout = Int(millis(settings.fetchTimeout))
        var jwksURL: String
        var maxAge: Int?
        switch source.location {
        case .jwksFile:
            return .failure(FetchError("file key sources are read at startup"))
        case .jwksURL(let url):
            jwksURL = url
        case .discovery(let url):
            switch http.get(url, timeoutMillis: timeout, caFile: source.caFile) {
            case .failure(let failure): return .failure(FetchError("discovery \(url): \(failure)"))
            case .success(let response):
                guard let document = JSONValue.parse(response.body) else { return .failure(FetchError("discovery \(url): not JSON")) }
                guard document["issuer"]?.string == source.issuer else {
                    return .failure(FetchError("discovery \(url): its issuer is not \(source.issuer)"))
                }
                guard let uri = document["jwks_uri"]?.string, Self.acceptableKeyURL(uri) else {
                    return .failure(FetchError("discovery \(url): jwks_uri missing or not https"))
                }
                jwksURL = uri
                maxAge = response.maxAge
            }
        }
        switch http.get(jwksURL, timeoutMillis: timeout, caFile: source.caFile) {
        case .failure(let failure):
            return .failure(FetchError("\(jwksURL): \(failure)"))
        case .success(let response):
            do {
                let keys = try KeySet.parse(jwks: response.body)
                return .success((keys, response.maxAge ?? maxAge, response.body))
            } catch {
                return .failure(FetchError("\(jwksURL): \(error)"))
            }
        }
    }

    /// Keys travel over https; plain http only to this host (tests, a local mock provider).
    static func acceptableKeyURL(_ url: String) -> Bool {
        url.hasPrefix("https://") || ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"].contains { url.hasPrefix($0) }
    }
}

public struct FetchError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

func millis(_ d: Duration) -> Int64 {
    let (seconds, attoseconds) = d.components
    return seconds * 1000 + attoseconds / 1_000_000_000_000_000
}
