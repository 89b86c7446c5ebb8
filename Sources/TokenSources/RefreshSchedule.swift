/// When a token is refreshed and until when it is used, from its lifetime.
///
/// A refresh starts at the earlier of 5 minutes before expiry and half the lifetime; a token so
/// short that 5 minutes before expiry leaves less than a quarter of its life (under about 7
/// minutes) is refreshed at half its life instead. A token is used until shortly before it
/// expires (a tenth of its life, at most 10 s), so it does not expire on its way.
struct RefreshSchedule: Sendable, Equatable {
    /// Milliseconds after issue.
    let refreshAfter: Int64
    /// Milliseconds after issue.
    let usableFor: Int64

    init(lifetimeMillis lifetime: Int64) {
        let half = lifetime / 2
        let fiveMinutesAhead = lifetime - 300_000
        let earlier = min(half, fiveMinutesAhead)
        refreshAfter = earlier >= lifetime / 4 ? earlier : half
        usableFor = lifetime - min(10_000, lifetime / 10)
    }
}
