import XMoESpec

extension RunSummary {
    /// A few aligned lines for the terminal:
    ///
    ///     run          quickstart
    ///     model        2 layers (1 dense), hidden 64, 8 experts top-2, seq 64, batch 8
    ///     status       complete
    ///     steps        150 / 150 (1.23M tokens)
    ///     …
    public var text: String {
        var lines: [(String, String)] = [("run", name)]
        if let model = modelShape { lines.append(("model", model)) }
        lines.append(("status", status.description))
        var steps = "\(stepsDone)" + (stepsPlanned.map { " / \($0)" } ?? "")
        if let tokensSeen { steps += " (\(ReportFormat.count(Double(tokensSeen))) tokens)" }
        if skippedSteps > 0 { steps += ", \(skippedSteps) updates skipped" }
        lines.append(("steps", steps))
        lines.append(("train loss", ReportFormat.loss(finalTrainLoss)
                        + (finalTrainLoss == nil ? "" : " (mean of the last \(finalTrainLossWindow) steps)")))
        lines.append(("eval loss", evalText))
        lines.append(("throughput", tokensPerSecond == nil ? ReportFormat.missing
                        : "\(ReportFormat.count(tokensPerSecond)) tokens/s (median per step)"))
        if meanDroppedFraction != nil || expertLoadImbalance != nil {
            lines.append(("dropped", ReportFormat.percent(meanDroppedFraction) + " of routed slots"))
            lines.append(("imbalance", ReportFormat.ratio(expertLoadImbalance)
                            + " max/mean tokens per expert (last 10% of steps)"))
        }
        lines.append(("wall time", ReportFormat.duration(wallTimeSeconds)
                        + (wallTimeIsPartial && wallTimeSeconds != nil ? " (latest executions only; earlier attempts not recorded)" : "")))
        for warning in routerWarnings {
            lines.append(("WARNING", "router " + warning + " (last 10% of steps)"))
        }
        let width = lines.map(\.0.count).max() ?? 0
        return lines.map { $0.0.padding(toLength: width + 2, withPad: " ", startingAt: 0) + $0.1 }
            .joined(separator: "\n") + "\n"
    }

    private var evalText: String {
        guard let finalEvalLoss else { return ReportFormat.missing }
        var text = "\(ReportFormat.loss(finalEvalLoss)) at step \(ReportFormat.integer(finalEvalStep))"
        if let bestEvalLoss, bestEvalStep != finalEvalStep {
            text += ", best \(ReportFormat.loss(bestEvalLoss)) at step \(ReportFormat.integer(bestEvalStep))"
        }
        return text
    }

    /// "2 layers (1 dense), hidden 64, 8 experts top-2 (+1 shared), seq 64, batch 8"; nil without a spec.
    private var modelShape: String? {
        guard let values = spec?.values, let layers = values.int("model.layers"), let hidden = values.int("model.hidden")
        else { return nil }
        let dense = values.int("model.first_dense_layers") ?? 0
        var parts = ["\(layers) layers" + (dense > 0 ? " (\(dense) dense)" : ""), "hidden \(hidden)"]
        if let experts = values.int("moe.num_experts"), let topK = values.int("moe.top_k") {
            let shared = values.int("moe.num_shared_experts") ?? 0
            parts.append("\(experts) experts top-\(topK)" + (shared > 0 ? " (+\(shared) shared)" : ""))
        }
        if let sequence = values.int("model.seq_length") { parts.append("seq \(sequence)") }
        if let batch = values.int("train.global_batch") { parts.append("batch \(batch)") }
        return parts.joined(separator: ", ")
    }
}
