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
/// backoff. ``requestRefresh(issuer:kid:)`` asks for an early fetch when a token names an unknown
/// kid; it is rate-limited per issuer so a flood of random kids cannot hammer the provider.
/// The schedule itself (thread, backoff, reloads) is the shared ``FetchScheduler``.
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

    /// What one successful fetch gave: the keys, and the JWKS bytes as fetched (for state_dir).
    struct Fetched: Sendable {
        let keys: KeySet
        let body: [UInt8]
    }

    let settings: KeyRefreshSettings
    private let scheduler: FetchScheduler<Source, Fetched>
    /// `issuer kid` → when that unknown kid last asked for a fetch (monotonic ms).
    private let unknownKids = Mutex<[String: Int64]>([:])
    let log = Logger(label: "portcullis.keys")

    /// `observe` is told of every fetch on the fetcher's thread: the issuer, whether it
    /// succeeded, and the number of keys published (metrics).
    public init(sources: [Source], settings: KeyRefreshSettings,
                observe: (@Sendable (_ issuer: String, _ succeeded: Bool, _ keys: Int) -> Void)? = nil,
                publish: @escaping @Sendable (String, KeySet) -> Void) {
        self.settings = settings
        let log = log
        scheduler = FetchScheduler(jobs: sources.map { ($0.issuer, $0) }, earlyIntervalMillis: millis(settings.unknownKidInterval),
                                   fetch: { _, source in Self.run(source, settings) },
                                   deliver: { issuer, _, delivery in
            switch delivery {
            case .fetched(let fetched):
                // Kept for the next start: it then serves at once, provider or not.
                if let dir = settings.stateDir, !KeyStateFile.write(dir: dir, issuer: issuer, fetchedAt: Double(time(nil)), jwks: fetched.body) {
                    log.warning("keys for \(issuer): could not write them to \(dir) (errno \(errno)); a restart will need the provider")
                }
                observe?(issuer, true, fetched.keys.keys.count)
                publish(issuer, fetched.keys)
            case .failed(let reason, let retry):
                log.warning("keys for \(issuer): \(reason); keeping the last good set, retrying in \((retry + 999) / 1000)s")
                observe?(issuer, false, 0)
            }
        })
    }

    /// The issuers whose keys are fetched, as the configuration now says.
    public var sources: [Source] { scheduler.jobs.map(\.job) }

    /// Takes a reloaded configuration's sources. An issuer whose source is unchanged keeps its
    /// schedule and its keys (no fetch because of the reload); a new or changed one is fetched
    /// at once by the background thread; one that is gone is no longer fetched.
    public func update(sources: [Source]) {
        scheduler.update(jobs: sources.map { ($0.issuer, $0) })
    }

    /// Fetches and publishes the first key set of every issuer, waiting at most the fetch timeout
    /// per issuer (at startup, before serving), then starts the background thread.
    public func start() {
        scheduler.runDueNow()
        startInBackground()
    }

    /// Starts the background thread only: every issuer is fetched there at once (a reload that
    /// adds the first fetched issuer must not hold up the reload on the provider).
    public func startInBackground() {
        scheduler.startInBackground()
    }

    public func stop() {
        scheduler.stop()
    }

    /// Asks for an early fetch of `issuer`'s keys. Safe and cheap from any thread (an event loop
    /// calls it when a token names a kid it does not know).
    public func requestRefresh(issuer: String, kid: String? = nil) {
        guard scheduler.contains(issuer) else { return }
        if let kid {
            let now = FetchScheduler<Source, Fetched>.nowMillis()
            let ttl = millis(settings.unknownKidTTL)
            let fresh = unknownKids.withLock { kids -> Bool in
                // The same unknown kid again: the last fetch did not bring it; another would not either.
                let key = issuer + " " + kid
                if let last = kids[key], now - last < ttl { return false }
                if kids.count >= 4096 { kids = kids.filter { now - $0.value < ttl } }
                if kids.count >= 4096 { return false }
                kids[key] = now
                return true
            }
            guard fresh else { return }
        }
        scheduler.request(issuer)
    }

    /// True once every issuer has had a key set published.
    public var isReady: Bool { scheduler.allSucceeded }

    /// Fetch attempts so far (tests observe the rate limit through it).
    public var fetchCount: Int { scheduler.runCount }

    /// One run: the keys and when to fetch them again (max-age within its bounds, else `refresh`).
    private static func run(_ source: Source, _ settings: KeyRefreshSettings) -> FetchScheduler<Source, Fetched>.Outcome {
        switch fetch(source, settings) {
        case .success(let (keys, maxAge, body)):
            var seconds = maxAge.map(Int64.init) ?? settings.refresh.components.seconds
            seconds = max(settings.minRefresh.components.seconds, min(settings.maxRefresh.components.seconds, seconds))
            return .fetched(Fetched(keys: keys, body: body), refreshAfterMillis: seconds * 1000)
        case .failure(let error):
            return .failed(error.description)
        }
    }

    /// One fetch of an issuer's keys; the JWKS must parse into at least one usable key.
    static func fetch(_ source: Source, _ settings: KeyRefreshSettings) -> Result<(KeySet, Int?, [UInt8]), FetchError> {
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
