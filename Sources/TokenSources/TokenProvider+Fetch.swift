import EventLoop
import KeyFetcher

extension TokenProvider {
    /// One fetch for a slot, on the background thread: the request is built and sent with no
    /// lock held, then the slot takes the token, or the failure and its back-off.
    func fetch(_ key: Key, with http: HTTPFetch?) {
        guard let source = shared.withLock({ $0.sources[key.source] }) else { return }
        let credential = source.credential
        let started = Sys.monotonicMillis()
        let result = obtain(credential, scope: key.scope, with: http)
        let now = Sys.monotonicMillis()
        let (slot, delay) = shared.withLock { shared -> (TokenSlot?, Int64) in
            // A reload may have changed or removed the source while this fetch ran: then its
            // answer belongs to settings no longer in effect, and the slot was already reset.
            guard Self.sameMeaning(shared.sources[key.source]?.settings, source.settings), var slot = shared.slots[key], slot.fetching else {
                return (nil, 0)
            }
            slot.fetching = false
            slot.fetches += 1
            var delay: Int64 = 0
            switch result {
            case .success(let answer):
                // Counted from when the request left: the token's clock started no later.
                let schedule = RefreshSchedule(lifetimeMillis: answer.expiresIn * 1000)
                slot.token = answer.accessToken
                slot.usableUntil = started + schedule.usableFor
                slot.nextFetch = started + schedule.refreshAfter
                slot.failures = 0
                slot.lastError = nil
            case .failure(let error):
                slot.failures += 1
                delay = backoff.delay(afterFailures: slot.failures)
                slot.nextFetch = now + delay
                slot.lastError = error
            }
            shared.slots[key] = slot
            return (slot, delay)
        }
        guard let slot else { return }
        let name = "token source '\(key.source)' scope '\(key.scope)'"
        switch result {
        case .success(let answer):
            log.debug("\(name): new token, valid \(answer.expiresIn)s, refresh in \((slot.nextFetch - started) / 1000)s")
        case .failure(let error):
            let left = slot.valid(at: now) ? "the current token is used for another \((slot.usableUntil - now) / 1000)s"
                                           : "calls that need it get 503 meanwhile"
            log.warning("\(name): \(error.code): \(error.reason); retrying in \(delay / 1000)s (failure \(slot.failures)); \(left)")
        }
    }

    /// Builds and sends the request and reads the answer.
    func obtain(_ credential: any Credential, scope: String, with http: HTTPFetch?) -> Result<TokenAnswer, TokenSourceError> {
        let wallNow = Sys.wallClock().seconds
        let request: HTTPFetch.Request
        do {
            request = try credential.request(scope: scope, wallNow: wallNow)
        } catch {
            return .failure(error)
        }
        guard let http else { return .failure(TokenSourceError("transfer_failed", "libcurl could not be initialised")) }
        let endpoint = request.url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.url
        switch http.perform(request, timeoutMillis: Int(options.requestTimeout.wholeMilliseconds), maxBytes: options.maxResponseBytes) {
        case .failure(let failure):
            return .failure(TokenSourceError("transfer_failed", "\(endpoint): \(failure)"))
        case .success(let response):
            return TokenAnswer.read(status: response.status, body: response.body, shape: credential.shape, wallNow: wallNow)
        }
    }
}
