import Foundation
import XMoEModel

/// The step loop for one rank: accumulate `accumulationSteps` micro-batches, average, clip, AdamW
/// at the scheduled rate, evaluate, write metrics.h5 and checkpoints under `runDirectory`.
///
/// Determinism: data comes from a position (`state.consumedSamples`), all reductions have a fixed
/// order, and a checkpoint holds all mutable state, so a resumed run repeats the uninterrupted
/// one bit for bit (the timing columns aside).
public final class Trainer {
    public let model: MoETransformer
    public let settings: TrainerSettings
    public let optimizer: Optimizer
    public let trainData: BatchSource
    public let validationData: BatchSource?
    public let runDirectory: URL
    public let specHash: String
    public private(set) var state = TrainingState()
    public let checkpoints: CheckpointDirectory
    private var metrics: MetricsWriter?
    /// `/train/elapsed_s` where this session continues (0 on a fresh start).
    private var elapsedOffset: Double = 0
    private let flopsPerToken: Double

    public var metricsURL: URL { runDirectory.appendingPathComponent("metrics.h5") }

    public init(model: MoETransformer, settings: TrainerSettings, trainData: BatchSource,
                validationData: BatchSource? = nil, runDirectory: URL, specHash: String) throws {
        try settings.validate()
        guard trainData.seqLen == model.config.seqLength else {
            throw TrainError.settings("training data has sequences of \(trainData.seqLen) tokens, the model's "
                + "seq_length is \(model.config.seqLength); prepare the data with the model's sequence length")
        }
        self.model = model
        self.settings = settings
        self.trainData = trainData
        self.validationData = validationData
        self.runDirectory = runDirectory
        self.specHash = specHash
        optimizer = Optimizer(store: model.parameters, settings: settings.adamw)
        checkpoints = CheckpointDirectory(root: runDirectory.appendingPathComponent("checkpoints"))
        flopsPerToken = ModelSize(model.config).trainingFLOPsPerToken
    }

    var moeLayers: [Int] { Array(model.config.firstDenseLayers..<model.config.layers) }

    /// Continues from the checkpoint `latest` names, if any: restores weights, moments, biases,
    /// step and data position, and drops metrics rows written after that step. Returns the step
    /// resumed from (nil: no checkpoint, a fresh start).
    @discardableResult
    public func resume() throws -> Int? {
        checkpoints.removeTemporaries()
        guard let directory = try checkpoints.latest() else { return nil }
        state = try CheckpointDirectory.load(from: directory, model: model, optimizer: optimizer)
        try metrics?.close()
        metrics = nil
        do {
            elapsedOffset = try openMetrics().truncate(toStep: state.step)
        } catch {
            // A kill during a metrics write can leave metrics.h5 unreadable; the checkpoint holds a
            // copy taken at its step.
            try? metrics?.close()
            metrics = nil
            let snapshot = directory.appendingPathComponent("metrics.h5")
            try? FileManager.default.removeItem(at: metricsURL)
            if FileManager.default.fileExists(atPath: snapshot.path) {
                try FileManager.default.copyItem(at: snapshot, to: metricsURL)
            }
            elapsedOffset = try openMetrics().truncate(toStep: state.step)
        }
        return state.step
    }

    private func openMetrics() throws -> MetricsWriter {
        if let metrics { return metrics }
        try FileManager.default.createDirectory(at: runDirectory, withIntermediateDirectories: true)
        let writer = try MetricsWriter(path: metricsURL.path, moeLayers: moeLayers, experts: model.config.numExperts,
                                       runName: runDirectory.lastPathComponent, specHash: specHash)
        metrics = writer
        return writer
    }

    /// Trains to `settings.trainSteps`, calling `onStep` after each step; metrics.h5 is closed on return.
    public func run(onStep: (StepReport) -> Void = { _ in }) throws {
        if metrics == nil && state.step == 0 {
            // A fresh start: rows in an existing metrics.h5 belong to a run that never checkpointed.
            try? FileManager.default.removeItem(at: metricsURL)
        }
        let writer = try openMetrics()
        try writer.truncate(toStep: state.step)
        let sessionStart = Date()
        let events = try openTensorBoard()
        while state.step < settings.trainSteps {
            var report = try trainStep()
            report.elapsedSeconds = elapsedOffset + Date().timeIntervalSince(sessionStart)
            try writer.append(report)
            if settings.checkpointInterval > 0
                && (state.step % settings.checkpointInterval == 0 || state.step == settings.trainSteps) {
                let saveStart = Date()
                try saveCheckpoint()
                try writer.appendCheckpoint(step: state.step, seconds: Date().timeIntervalSince(saveStart))
            }
            try events?.write(step: report.step, scalars: TensorBoardScalars.scalars(report, moeLayers: moeLayers))
            onStep(report)
        }
        try events?.close()
        // Writes the rows a reader kept waiting.
        try writer.close()
        metrics = nil
    }

    /// `runs/<name>/tensorboard/`: a new event file per session; a resumed session first tells
    /// TensorBoard to drop the steps it rolled back.
    private func openTensorBoard() throws -> EventFileWriter? {
        guard settings.tensorboard else { return nil }
        let events = try EventFileWriter(directory: runDirectory.appendingPathComponent("tensorboard"))
        if state.step > 0 { try events.writeRestart(step: state.step + 1) }
        return events
    }

    public func saveCheckpoint() throws {
        try openMetrics().flush()
        try checkpoints.save(model: model, optimizer: optimizer, state: state, specHash: specHash,
                             keep: settings.keepCheckpoints, extraFiles: [metricsURL])
    }

    /// One optimizer step over the next global batch.
    public func trainStep() throws -> StepReport {
        let started = Date()
        let step = state.step + 1
        let accumulation = settings.accumulationSteps
        let tokensPerStep = settings.globalBatchSize * model.config.seqLength
        model.zeroGrads()
        var loss: Double = 0, lm: Double = 0, aux: Double = 0, z: Double = 0
        var routed = moeLayers.map { _ in [Int](repeating: 0, count: model.config.numExperts) }
        var dropped = [Int](repeating: 0, count: moeLayers.count)
        for micro in 0..<accumulation {
            let batch = try trainData.microBatch(at: state.consumedSamples + micro * settings.microBatchSize,
                                                 samples: settings.microBatchSize)
            let parts = try model.forward(tokens: batch.tokens, targets: batch.targets)
            model.backward()
            loss += Double(parts.total)
            lm += Double(parts.lm)
            aux += Double(parts.aux)
            z += Double(parts.z)
            for (i, stats) in model.routingStats.enumerated() where i < routed.count {
                for e in 0..<stats.routed_E.count { routed[i][e] += stats.routed_E[e] }
                dropped[i] += stats.dropped
            }
        }
        let n = Double(accumulation)
        (loss, lm, aux) = (loss / n, lm / n, aux / n)
        if accumulation > 1 { optimizer.scaleGradients(by: 1 / Float(accumulation)) }
        state.consumedSamples += settings.globalBatchSize

        let gradNorm = optimizer.gradientNorm()
        let lr = settings.schedule.lr(completedUpdates: optimizer.step, tokensPerUpdate: tokensPerStep)
        let finite = loss.isFinite && gradNorm.isFinite
        if !finite && settings.nonFinite == .stop {
            throw TrainError.nonFinite(step: step, what: loss.isFinite ? "the gradient norm (\(gradNorm))" : "the loss (\(loss))")
        }
        if finite {
            if let clip = settings.clipGrad, clip > 0 { optimizer.clipGradients(norm: gradNorm, maxNorm: clip) }
            optimizer.apply(lr: Float(lr))
            if settings.expertBiasRate > 0 && model.options.gating == .sigmoidBias { updateExpertBias(routed) }
        }
        state.step = step

        // Throughput counts the step's training work only; evaluation has its own timing.
        let seconds = max(Date().timeIntervalSince(started), 1e-9)
        var eval: EvalReport?
        if settings.evalInterval > 0, step % settings.evalInterval == 0, validationData != nil {
            let evalStart = Date()
            let evalLoss = try evaluate()
            eval = EvalReport(step: step, loss: evalLoss, seconds: Date().timeIntervalSince(evalStart))
        }
        let tokensPerSecond = Double(tokensPerStep) / seconds
        return StepReport(step: step, loss: loss, lmLoss: lm, auxLoss: aux, lr: lr, gradNorm: gradNorm,
                          tokensPerSecond: tokensPerSecond, flopsPerSecond: tokensPerSecond * flopsPerToken,
                          skipped: !finite, tokensPerExpert: routed,
                          droppedFraction: zip(routed, dropped).map { r, d in
                              let total = r.reduce(0, +)
                              return total == 0 ? 0 : Double(d) / Double(total)
                          },
                          eval: eval, zLoss: z / n)
    }

    /// Mean LM loss over `evalIterations` validation micro-batches from position 0 (no gradients).
    public func evaluate() throws -> Double {
        guard let validationData else { throw TrainError.settings("evaluation requested without validation data") }
        var sum: Double = 0
        for i in 0..<settings.evalIterations {
            let batch = try validationData.microBatch(at: i * settings.microBatchSize, samples: settings.microBatchSize)
            sum += Double(try model.forward(tokens: batch.tokens, targets: batch.targets).lm)
        }
        return sum / Double(settings.evalIterations)
    }

    /// DeepSeek-V3: b_e += rate · sign(mean load − load_e), load counted over the whole global batch.
    private func updateExpertBias(_ routed: [[Int]]) {
        for (i, layer) in moeLayers.enumerated() {
            var bias = model.expertBias(layer: layer)
            guard bias.count == routed[i].count else { continue }
            let mean = Double(routed[i].reduce(0, +)) / Double(routed[i].count)
            for e in bias.indices {
                let gap = mean - Double(routed[i][e])
                bias[e] += gap > 0 ? settings.expertBiasRate : (gap < 0 ? -settings.expertBiasRate : 0)
            }
            model.setExpertBias(layer: layer, bias)
        }
    }
}
