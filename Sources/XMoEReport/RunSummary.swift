import Foundation
import XMoEBase
import XMoESpec

/// The numbers that compare runs of a sweep, computed from a run's metrics and step records.
/// Every number is `nil` when the run has not produced what it needs.
public struct RunSummary: Sendable {
    public var name: String
    public var status: RunStatus
    public var spec: ExperimentSpec?
    /// The last training step stored in metrics.h5 (1-based), 0 before the first.
    public var stepsDone: Int
    /// `train.iters` of the spec.
    public var stepsPlanned: Int?
    /// `train.global_batch × model.seq_length`.
    public var tokensPerStep: Int?
    /// `stepsDone × tokensPerStep` (skipped updates consumed their tokens too).
    public var tokensSeen: Int?
    /// Steps whose update was skipped for a non-finite loss or gradient.
    public var skippedSteps: Int
    /// Mean `/train/loss` of the last `finalTrainLossWindow` rows (finite values only).
    public var finalTrainLoss: Double?
    /// `max(1, rows / 20)`: the last 5% of the steps, so the figure is a level rather than one noisy
    /// batch, yet recent enough to reflect the end of training (short runs fall back to the last step).
    public var finalTrainLossWindow: Int
    /// `/eval/loss` of the last evaluation, and its step.
    public var finalEvalLoss: Double?
    public var finalEvalStep: Int?
    /// Lowest finite `/eval/loss`, and its step (the first such step on ties).
    public var bestEvalLoss: Double?
    public var bestEvalStep: Int?
    /// Median of `/train/tokens_per_s` without the first row, whose time includes warm-up (thread
    /// pools, first-touch allocation); a run of one step keeps that one row.
    public var tokensPerSecond: Double?
    /// Mean `dropped_fraction` over every MoE layer and step; `nil` without MoE layers or rows.
    public var meanDroppedFraction: Double?
    /// Expert load imbalance, `max / mean` of one step's tokens per expert (1 = even), averaged over the
    /// last `max(1, rows / 10)` steps (steps that routed nothing left out), then over MoE layers.
    public var expertLoadImbalance: Double?
    /// Wall time of the run: the recorded durations of the steps before training (prepare-data), plus
    /// training's `/train/elapsed_s` at the last step (and the last checkpoint's save when it followed
    /// that step), which sums every session of a resumed run. Without `elapsed_s` (an older
    /// metrics.h5), the sum of `duration_seconds` over the step records.
    public var wallTimeSeconds: Double?
    /// True when the figure misses time: each execution of a step rewrites its record, so without
    /// `elapsed_s` a resumed run counts only its latest training session, and a step still `running`
    /// (other than a live train step) has no duration yet.
    public var wallTimeIsPartial: Bool
    /// Router health over the last 10% of steps (summed counts), one line per unhealthy MoE layer:
    /// dead experts (under `ExpertLoad.deadFraction` of the even share) or hot ones (over
    /// `ExpertLoad.hotMultiple` times it).
    public var routerWarnings: [String] = []

    /// Reads `runDirectory`: step records, the resolved spec and metrics.h5 when they exist (a run that
    /// failed before training has records but no metrics, and still gets a summary with its status).
    public static func load(runDirectory: URL) throws -> RunSummary {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: runDirectory.path, isDirectory: &isDirectory),
              isDirectory.boolValue else {
            throw ReportError.missingRunDirectory(path: runDirectory.path)
        }
        let records = try RecordedStep.loadAll(runDirectory: runDirectory)
        let hasMetrics = FileManager.default.fileExists(atPath: runDirectory.appendingPathComponent("metrics.h5").path)
        let metrics = hasMetrics ? try RunMetrics.load(runDirectory: runDirectory) : nil
        let spec = try metrics?.spec ?? RunMetrics.loadSpec(runDirectory: runDirectory)
        return RunSummary(name: spec?.name ?? runDirectory.lastPathComponent, metrics: metrics, records: records, spec: spec)
    }

    public init(name: String, metrics: RunMetrics?, records: [String: RecordedStep], spec: ExperimentSpec?) {
        self.name = name
        self.spec = spec
        status = RunStatus(records: records)
        stepsPlanned = spec?.values.int("train.iters")
        if let spec, let batch = spec.values.int("train.global_batch"), let sequence = spec.values.int("model.seq_length") {
            tokensPerStep = batch * sequence
        }

        let train = metrics?.train ?? TrainMetrics(columns: [:])
        let done = train.step.last.map { Int($0) } ?? 0
        stepsDone = done
        tokensSeen = tokensPerStep.map { $0 * done }
        skippedSteps = train.skipped.filter { $0 != 0 }.count

        finalTrainLossWindow = max(1, train.rowCount / 20)
        finalTrainLoss = Self.mean(train.loss.suffix(finalTrainLossWindow).filter(\.isFinite))

        let eval = metrics?.eval ?? EvalMetrics(step: [], loss: [], perplexity: [])
        if let last = eval.loss.indices.last {
            finalEvalLoss = eval.loss[last]
            finalEvalStep = Int(eval.step[last])
        }
        if let best = eval.loss.indices.filter({ eval.loss[$0].isFinite }).min(by: { eval.loss[$0] < eval.loss[$1] }) {
            bestEvalLoss = eval.loss[best]
            bestEvalStep = Int(eval.step[best])
        }

        let rates = train.tokensPerSecond
        tokensPerSecond = Self.median(rates.count > 1 ? Array(rates.dropFirst()) : rates)

        let layers = metrics?.moeLayers ?? []
        meanDroppedFraction = Self.mean(layers.flatMap(\.droppedFraction))
        expertLoadImbalance = Self.mean(layers.compactMap(Self.loadImbalance))

        if let elapsed = train.elapsedSeconds.last, elapsed.isFinite {
            var training = elapsed
            if let save = metrics?.checkpoints.last, save.step == train.step.last, save.seconds.isFinite { training += save.seconds }
            let others = records.filter { $0.key != "train" }.values
            wallTimeSeconds = others.compactMap(\.durationSeconds).reduce(training, +)
            wallTimeIsPartial = others.contains { $0.followsUnfinishedExecution || $0.durationSeconds == nil }
        } else {
            let durations = records.values.compactMap(\.durationSeconds)
            wallTimeSeconds = durations.isEmpty ? nil : durations.reduce(0, +)
            wallTimeIsPartial = records.values.contains { $0.followsUnfinishedExecution || $0.durationSeconds == nil }
        }
        routerWarnings = layers.compactMap { layer in
            let window = layer.tokensPerExpert.suffix(max(1, layer.tokensPerExpert.count / 10))
            return ExpertLoad.sum(window.map { $0.map(Int.init) }).warning(layer: layer.layer)
        }
    }

    /// `max / mean` per step over the layer's last 10% of steps, averaged.
    static func loadImbalance(_ layer: MoELayerMetrics) -> Double? {
        let window = layer.tokensPerExpert.suffix(max(1, layer.tokensPerExpert.count / 10))
        let ratios = window.compactMap { counts -> Double? in
            let total = counts.reduce(0, +)
            guard total > 0, let largest = counts.max() else { return nil }
            return Double(largest) / (Double(total) / Double(counts.count))
        }
        return mean(ratios)
    }

    static func mean<C: Collection>(_ values: C) -> Double? where C.Element == Double {
        values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    static func median(_ values: [Double]) -> Double? {
        let sorted = values.filter(\.isFinite).sorted()
        guard !sorted.isEmpty else { return nil }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
