/// What the provider knows about one (source, scope): the token in use, when to fetch next,
/// and how fetching has gone. Times are monotonic milliseconds.
struct TokenSlot: Sendable {
    var token: String?
    /// The token is handed out until then (a little before it expires).
    var usableUntil: Int64 = 0
    /// When the background thread fetches next: the refresh time, or a retry after a failure.
    var nextFetch: Int64
    /// A fetch for this slot is under way (so no second one starts).
    var fetching = false
    var failures = 0
    var lastError: TokenSourceError?
    /// Fetches finished, successful or not.
    var fetches = 0

    init(now: Int64) {
        nextFetch = now
    }

    func valid(at now: Int64) -> Bool {
        token != nil && now < usableUntil
    }
}
