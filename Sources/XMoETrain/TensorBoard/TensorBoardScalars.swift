import XMoEBase
import XMoEParallel

/// The scalars a step shows in TensorBoard, tagged as in metrics.h5 (`train/loss` ↔ `/train/loss`).
/// Adding a scalar is one line in `scalars`.
public enum TensorBoardScalars {
    /// `moeLayers[i]` is the model layer of `report.tokensPerExpert[i]`.
    public static func scalars(_ r: StepReport, moeLayers: [Int]) -> [(tag: String, value: Double)] {
        var out: [(tag: String, value: Double)] = [
            ("train/loss", r.loss),
            ("train/lm_loss", r.lmLoss),
            ("train/aux_loss", r.auxLoss),
            ("train/z_loss", r.zLoss),
            ("train/lr", r.lr),
            ("train/grad_norm", r.gradNorm),
            ("train/tokens_per_s", r.tokensPerSecond),
        ]
        if let eval = r.eval { out.append(("eval/loss", eval.loss)) }
        // The share of the step's wall time the slowest rank spent in dispatch, combine and gradient sync.
        let communication = r.communication.total
        if r.stepSeconds > 0, communication.seconds > 0 { out.append(("comm/share", communication.seconds / r.stepSeconds)) }
        for (i, layer) in moeLayers.enumerated() where i < r.tokensPerExpert.count {
            let group = String(MetricsWriter.moeGroup(layer).dropFirst())
            let load = ExpertLoad(counts_E: r.tokensPerExpert[i])
            if let imbalance = load.imbalance { out.append(("\(group)/load_imbalance", imbalance)) }
            out.append(("\(group)/dead_experts", Double(load.deadExperts.count)))
            if i < r.droppedFraction.count { out.append(("\(group)/dropped_fraction", r.droppedFraction[i])) }
        }
        return out
    }
}
