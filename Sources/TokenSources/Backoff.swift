/// How long a (source, scope) waits after failed fetches: 1 s, doubling per failure, at most
/// 5 minutes, each wait drawn from its upper three quarters so that replicas that failed
/// together do not retry together.
struct Backoff: Sendable {
    var initialMillis: Int64 = 1_000
    var maxMillis: Int64 = 300_000

    /// The wait after `failures` consecutive failures (1 for the first).
    func delay(afterFailures failures: Int, random: (ClosedRange<Int64>) -> Int64 = { Int64.random(in: $0) }) -> Int64 {
        let doublings = Int64(min(max(failures - 1, 0), 20))
        let base = min(initialMillis << doublings, maxMillis)
        return random((base - base / 4)...base)
    }
}
