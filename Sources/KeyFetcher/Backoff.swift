/// How long a background fetch waits after failures: 1 s, doubling per failure, at most
/// 5 minutes, each wait drawn from its upper three quarters so that replicas that failed
/// together do not retry together. Shared by the key and IP-set schedules and the token
/// sources, so every outgoing retry follows one rule.
package struct Backoff: Sendable {
    package var initialMillis: Int64 = 1_000
    package var maxMillis: Int64 = 300_000

    package init() {}

    /// The wait after `failures` consecutive failures (1 for the first).
    package func delay(afterFailures failures: Int, random: (ClosedRange<Int64>) -> Int64 = { Int64.random(in: $0) }) -> Int64 {
        let doublings = Int64(min(max(failures - 1, 0), 20))
        let base = min(initialMillis << doublings, maxMillis)
        return random((base - base / 4)...base)
    }
}
