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

    /// The step of the newest complete checkpoint (`checkpoints/latest` names `step_NNNNNN`), which an
    /// unfinished train step continues from when its inputs are unchanged.
    func checkpointStep() -> Int? {
        let latest = runDirectory.appendingPathComponent("checkpoints/latest")
        guard let text = try? String(contentsOf: latest, encoding: .utf8) else { return nil }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "step_", with: ""))
    }

    /// "up-to-date", "will run", or "will rerun" with the first reason, short enough for a table cell.
    func cell(for step: String) -> String {
        guard let plan = steps.first(where: { $0.step == step }) else { return "—" }
        if plan.status == .upToDate { return "up-to-date" }
        if step == "train", plan.status == .willRerun, let resumeStep = checkpointStep(),
           !plan.reasons.contains(where: { $0.contains("changed") || $0.contains("added") || $0.contains("removed") }) {
            return "resumes from step \(resumeStep)"
        }
        guard let reason = plan.reasons.first, reason != "never run" else { return plan.status.rawValue }
        return "\(plan.status.rawValue): \(reason)" + (plan.reasons.count > 1 ? " (+\(plan.reasons.count - 1))" : "")
    }
}
