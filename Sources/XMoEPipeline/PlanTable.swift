/// The plan as `xmoe plan` prints it: one aligned line per step, status then reasons.
///
///     prepare-data  up-to-date  unchanged since 2026-11-23T07:50:00Z
///     train         will rerun  model.hidden changed: 256 → 512
public enum PlanTable {
    public static func render(_ plans: [StepPlan]) -> String {
        let nameWidth = plans.map(\.step.count).max() ?? 0
        let statusWidth = plans.map(\.status.rawValue.count).max() ?? 0
        return plans.map { plan in
            pad(plan.step, nameWidth) + "  " + pad(plan.status.rawValue, statusWidth) + "  " + plan.reason
        }.joined(separator: "\n") + (plans.isEmpty ? "" : "\n")
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(width - text.count, 0))
    }
}
