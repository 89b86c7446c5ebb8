/// Whether the process is alive and working, as `GET /healthz` reports it.
public struct HealthReport: Sendable, Equatable {
    /// What is wrong, one short line each (e.g. "worker 2 has not turned its loop for 12s");
    /// empty when healthy.
    public var problems: [String]

    public init(problems: [String] = []) {
        self.problems = problems
    }

    public var isHealthy: Bool { problems.isEmpty }

    public static let healthy = HealthReport()
}
