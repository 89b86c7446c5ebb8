/// Whether a layer's refusals are applied (`enforce`) or only computed, logged and counted
/// while the request goes on (`dry_run`): a way to roll out rules on live traffic.
public enum EnforcementMode: String, Sendable, CaseIterable {
    case enforce
    case dryRun = "dry_run"
}
