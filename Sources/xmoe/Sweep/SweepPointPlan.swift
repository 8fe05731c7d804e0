import Foundation
import XMoEPipeline
import XMoESpec

/// One point of a sweep with its DAG and what running it now would do: the table `xmoe sweep --dry-run`
/// prints, and the list of points the runner starts (only those with a step that is not up to date).
struct SweepPointPlan {
    let point: SweepPoint
    let dag: ExperimentDAG
    let steps: [StepPlan]

    init(point: SweepPoint) throws {
        self.point = point
        dag = try ExperimentDAG(spec: point.spec)
        steps = try dag.pipeline.plan()
    }

    var isDone: Bool { steps.allSatisfy { $0.status == .upToDate } }
    var runDirectory: URL { dag.runDirectory.root }

    /// The key of a step, so points reading the same data can be seen to share one preparation.
    func key(of step: String) -> String? { dag.pipeline.keys[step] }

    /// "up-to-date", "will run", or "will rerun" with the first reason, short enough for a table cell.
    func cell(for step: String) -> String {
        guard let plan = steps.first(where: { $0.step == step }) else { return "—" }
        if plan.status == .upToDate { return "up-to-date" }
        // The train step's own note says whether it continues or starts a new run (keeping the old).
        if step == "train", let note = plan.reasons.first,
           note.hasPrefix("continues") || note.hasPrefix("starts") {
            return note.hasPrefix("continues from step") ? "resumes from step " + note.dropFirst("continues from step ".count) : note
        }
        guard let reason = plan.reasons.first, reason != "never run" else { return plan.status.rawValue }
        return "\(plan.status.rawValue): \(reason)" + (plan.reasons.count > 1 ? " (+\(plan.reasons.count - 1))" : "")
    }
}
