import XMoEBase
import XMoETrain

/// The router-health part of a training progress line: empty while every MoE layer is healthy, else
/// " | WARNING layer 1: expert 3 dead (…)" for each layer with dead or hot experts this step
/// (thresholds: `ExpertLoad.deadFraction`, `ExpertLoad.hotMultiple`).
enum RouterHealthLine {
    static func suffix(_ report: StepReport, firstMoELayer: Int) -> String {
        let warnings = report.tokensPerExpert.enumerated().compactMap { i, counts in
            ExpertLoad(counts_E: counts).warning(layer: firstMoELayer + i)
        }
        return warnings.isEmpty ? "" : " | WARNING " + warnings.joined(separator: " | WARNING ")
    }
}
