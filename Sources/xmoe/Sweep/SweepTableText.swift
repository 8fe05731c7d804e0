import Foundation
import XMoEPipeline
import XMoESpec

/// The tables `xmoe sweep` prints.
enum SweepTableText {
    /// One row per point: its varied values and what each step would do now.
    ///
    ///     #  point   moe.num_experts  moe.top_k  prepare-data              train
    ///     1  e4-k1   4                1          will run (shared by 4)    will run
    static func points(sweep: SweepSpec, plans: [SweepPointPlan]) -> String {
        let stepNames = plans.first?.steps.map(\.step) ?? []
        var sharing: [String: Int] = [:]  // step key → pending points using it
        for plan in plans {
            for step in plan.steps where step.status != .upToDate { sharing[step.key, default: 0] += 1 }
        }
        let rows = plans.map { plan -> [String] in
            let values = sweep.variedKeys.map { key in plan.point.assignments.first { $0.key == key }?.value ?? "—" }
            let cells = stepNames.map { name -> String in
                var cell = plan.cell(for: name)
                if let step = plan.steps.first(where: { $0.step == name }), step.status != .upToDate,
                   let users = sharing[step.key], users > 1 {
                    cell += " (shared by \(users))"
                }
                return cell
            }
            return ["\(plan.point.index)", plan.point.name] + values.map(unquoted) + cells
        }
        return TextTable.render(header: ["#", "point"] + sweep.variedKeys + stepNames, rows: rows)
    }

    /// Canonical strings are quoted ("\"cosine\""); a table reads better without the quotes.
    static func unquoted(_ value: String) -> String {
        value.count >= 2 && value.hasPrefix("\"") && value.hasSuffix("\"") ? String(value.dropFirst().dropLast()) : value
    }
}
