import Foundation
import XMoEModel
import XMoEParallel

/// The step loop for one rank: accumulate its micro-batches, synchronise gradients over the ranks
/// that replicate them, clip, AdamW at the scheduled rate, evaluate, write metrics.h5 (rank 0) and
/// checkpoints (every rank its part) under `runDirectory`.
///
/// Data parallelism: the rank with data-parallel index d reads samples [p + d·G/dp, p + (d+1)·G/dp)
/// of the global batch at position p, in micro-batches, so what a step trains on does not depend
/// on the layout. Losses, token counts and per-expert loads are reduced over the data-parallel
/// group, so every rank reports (and decides on) the same numbers.
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
    public let groups: ProcessGroups
    public private(set) var state = TrainingState()
    /// What `resume()` had to tell the user: damaged checkpoints passed over, the one used instead.
    public private(set) var resumeNotices: [String] = []
    public let checkpoints: CheckpointDirectory
    private var metrics: MetricsWriter?
    /// `/train/elapsed_s` where this session continues (0 on a fresh start).
    private var elapsedOffset: Double = 0
    private let flopsPerToken: Double

    public var metricsURL: URL { runDirectory.appendingPathComponent("metrics.h5") }

    public init(model: MoETransformer, settings: TrainerSettings, trainData: BatchSource,
                validationData: BatchSource? = nil, runDirectory: URL, specHash: String,
                groups: ProcessGroups? = nil, zeroStage: Int = 0) throws {
        try settings.validate()
        let groups = try groups ?? ProcessGroups.single()
        let dp = groups.layout.dp
        guard settings.globalBatchSize % (settings.microBatchSize * dp) == 0 else {
            throw TrainError.settings("training: global batch size \(settings.globalBatchSize) must be a multiple of "
                + "micro-batch size × data-parallel ranks (\(settings.microBatchSize) × \(dp)); change train.global_batch, "
                + "train.micro_batch or parallel.dp")
        }
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
        self.groups = groups
        optimizer = Optimizer(store: model.parameters, settings: settings.adamw, groups: groups, zeroStage: zeroStage)
        checkpoints = CheckpointDirectory(root: runDirectory.appendingPathComponent("checkpoints"))
        flopsPerToken = ModelSize(model.config).trainingFLOPsPerToken
    }

    var moeLayers: [Int] { Array(model.config.firstDenseLayers..<model.config.layers) }
    /// Rank 0 alone writes metrics.
    var writesMetrics: Bool { groups.rank == 0 }
    /// Micro-batches each rank runs per step.
    public var accumulationSteps: Int { settings.globalBatchSize / (settings.microBatchSize * groups.layout.dp) }

    /// Continues from the checkpoint `latest` names, if any: restores weights, moments, biases,
    /// step and data position, and drops metrics rows written after that step. A metrics.h5 that is
    /// missing, unreadable or short of rows the checkpoint covers (deleted, emptied, truncated) is
    /// replaced by the copy the checkpoint keeps, so history is never lost; `resumeNotes` says so.
    /// Returns the step resumed from (nil: no checkpoint, a fresh start).
    @discardableResult
    public func resume() throws -> Int? {
        if groups.rank == 0 { checkpoints.removeTemporaries() }
        try groups.world.barrier()
        let load = { (directory: URL) in
            try CheckpointDirectory.load(from: directory, model: self.model, optimizer: self.optimizer,
                                         globalBatch: self.settings.globalBatchSize)
        }
        guard let newest = try checkpoints.loadNewestGood(notice: { resumeNotices.append($0) }, load: load) else { return nil }
        defer { model.parameters.refreshComputeCopy() }  // the loaded masters, rounded for bf16 compute
        var directory = newest.directory
        state = newest.state
        if groups.world.size > 1 {
            // A rank that had to fall back to an older checkpoint takes every rank with it.
            var oldest = [state.step]
            try groups.world.allReduce(&oldest, op: .min)
            if oldest[0] != state.step {
                directory = checkpoints.root.appendingPathComponent(CheckpointDirectory.name(step: oldest[0]))
                state = try load(directory)
                resumeNotices.append("another rank fell back to \(CheckpointDirectory.name(step: oldest[0])); resuming from it")
            }
        }
        guard writesMetrics else { return state.step }
        try metrics?.close()
        metrics = nil
        let snapshot = directory.appendingPathComponent("metrics.h5")
        let present = MetricsHistory.rows(of: metricsURL, upToStep: state.step)
        if present.rows < state.step, MetricsHistory.rows(of: snapshot, upToStep: state.step).rows > present.rows {
            try restoreMetrics(from: snapshot)
            resumeNotes.append("metrics.h5 \(present.problem ?? "holds \(present.rows) of the \(state.step) steps"); "
                + "restored the copy kept in \(directory.lastPathComponent)")
        }
        do {
            elapsedOffset = try openMetrics().truncate(toStep: state.step)
        } catch {
            // A kill during a metrics write can leave metrics.h5 unreadable; the checkpoint holds a
            // copy taken at its step.
            try? metrics?.close()
            metrics = nil
            try restoreMetrics(from: snapshot)
            elapsedOffset = try openMetrics().truncate(toStep: state.step)
        }
        return state.step
    }

    /// Messages of the last `resume()` worth telling the user (metrics restored from a checkpoint).
    public private(set) var resumeNotes: [String] = []

    /// Polled between steps; when it returns true, `run()` closes metrics.h5 and throws
    /// `TrainingInterrupted` (a signal asked the process to stop).
    public var shouldStop: (@Sendable () -> Bool)?

    private func restoreMetrics(from snapshot: URL) throws {
        try? FileManager.default.removeItem(at: metricsURL)
        if FileManager.default.fileExists(atPath: snapshot.path) {
            try FileManager.default.copyItem(at: snapshot, to: metricsURL)
        }
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
        if writesMetrics && metrics == nil && state.step == 0 {
            // A fresh start: rows in an existing metrics.h5 belong to a run that never checkpointed.
            try? FileManager.default.removeItem(at: metricsURL)
        }
        let writer = writesMetrics ? try openMetrics() : nil
        try writer?.truncate(toStep: state.step)
        let sessionStart = Date()
        let events = writesMetrics ? try openTensorBoard() : nil
        while true {
            // A safe point: the previous step is whole (and checkpointed when due). Every rank must
            // stop at the same step, or the others would wait in the next collective.
            var stop = [shouldStop?() == true ? 1 : 0]
            if groups.world.size > 1 { try groups.world.allReduce(&stop, op: .max) }
            if stop[0] != 0 {
                try events?.close()
                try writer?.close()
                metrics = nil
                throw TrainingInterrupted(step: state.step)
            }
            guard state.step < settings.trainSteps else { break }
            var report = try trainStep()
            report.elapsedSeconds = elapsedOffset + Date().timeIntervalSince(sessionStart)
            try writer?.append(report)
            if settings.checkpointInterval > 0
                && (state.step % settings.checkpointInterval == 0 || state.step == settings.trainSteps) {
                let saveStart = Date()
                try saveCheckpoint()
                try writer?.appendCheckpoint(step: state.step, seconds: Date().timeIntervalSince(saveStart))
            }
            try events?.write(step: report.step, scalars: TensorBoardScalars.scalars(report, moeLayers: moeLayers))
            onStep(report)
        }
        try events?.close()
        // Writes the rows a reader kept waiting.
        try writer?.close()
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

    /// Collective: every rank writes its part.
    public func saveCheckpoint() throws {
        if writesMetrics { try openMetrics().flush() }
        try checkpoints.save(model: model, optimizer: optimizer, state: state, specHash: specHash,
                             keep: settings.keepCheckpoints, extraFiles: writesMetrics ? [metricsURL] : [],
                             world: groups.world.size > 1 ? groups.world : nil)
    }

    /// One optimizer step over the next global batch.
    public func trainStep() throws -> StepReport {
        let started = Date()
        let step = state.step + 1
        let accumulation = accumulationSteps
        let dp = groups.layout.dp
        let tokensPerStep = settings.globalBatchSize * model.config.seqLength
        let first = state.consumedSamples + groups.layout.dpIndex(of: groups.rank) * (settings.globalBatchSize / dp)
        model.zeroGrads()
        _ = model.dispatcher.meter.take()  // drop the last evaluation's traffic
        var loss: Double = 0, lm: Double = 0, aux: Double = 0, z: Double = 0
        var routed = moeLayers.map { _ in [Int](repeating: 0, count: model.config.numExperts) }
        var dropped = [Int](repeating: 0, count: moeLayers.count)
        for micro in 0..<accumulation {
            let batch = try trainData.microBatch(at: first + micro * settings.microBatchSize,
                                                 samples: settings.microBatchSize)
            // Masks from (seed, step, global micro-batch index): the same samples get the same masks in any layout.
            model.dropoutStream = DropoutStream(step: step, microStep: groups.layout.dpIndex(of: groups.rank) * accumulation + micro)
            let parts = try model.forward(tokens: batch.tokens, targets: batch.targets)
            try model.backward()
            loss += Double(parts.total)
            lm += Double(parts.lm)
            aux += Double(parts.aux)
            z += Double(parts.z)
            for (i, stats) in model.routingStats.enumerated() where i < routed.count {
                for e in 0..<stats.routed_E.count { routed[i][e] += stats.routed_E[e] }
                dropped[i] += stats.dropped
            }
        }
        if dp > 1 {
            var sums = [loss, lm, aux, z]
            try groups.dp.allReduce(&sums, op: .sum)
            (loss, lm, aux, z) = (sums[0], sums[1], sums[2], sums[3])
            var counts = routed.flatMap { $0 } + dropped
            try groups.dp.allReduce(&counts, op: .sum)
            let e = model.config.numExperts
            routed = routed.indices.map { Array(counts[($0 * e)..<(($0 + 1) * e)]) }
            dropped = Array(counts[(routed.count * e)...])
        }
        let n = Double(accumulation * dp)
        (loss, lm, aux) = (loss / n, lm / n, aux / n)
        model.parameters.settleGradients()
        try optimizer.synchronizeGradients(scale: accumulation * dp > 1 ? 1 / Float(accumulation * dp) : 1)
        state.consumedSamples += settings.globalBatchSize

        let gradNorm = try optimizer.gradientNorm()
        let lr = settings.schedule.lr(completedUpdates: optimizer.step, tokensPerUpdate: tokensPerStep)
        var finite = loss.isFinite && gradNorm.isFinite
        if !finite && settings.nonFinite == .stop {
            throw TrainError.nonFinite(step: step, what: loss.isFinite ? "the gradient norm (\(gradNorm))" : "the loss (\(loss))")
        }
        if finite {
            if let clip = settings.clipGrad, clip > 0 { optimizer.clipGradients(norm: gradNorm, maxNorm: clip) }
            finite = try optimizer.applyChecked(lr: Float(lr), gradNorm: gradNorm, clipGrad: settings.clipGrad,
                                                policy: settings.nonFinite, step: step)
            if finite && settings.expertBiasRate > 0 && model.options.gating == .sigmoidBias { updateExpertBias(routed) }
            // A clean update refreshed the bf16 compute copy as it went; a skipped one restored the
            // masters, whose copy must be re-rounded (no-op in fp32).
            if !finite { model.parameters.refreshComputeCopy() }
        }
        state.step = step

        // Before evaluation, whose forwards also dispatch: /comm/* is the training step's traffic, job-wide.
        var communication = StepCommunication.take(from: model.dispatcher.meter, gradSync: optimizer.syncTraffic)
        if groups.world.size > 1 { communication = try communication.reduced(over: groups.world) }
        // Throughput counts the step's training work only; evaluation has its own timing.
        let seconds = max(Date().timeIntervalSince(started), 1e-9)
        var eval: EvalReport?
        if settings.evalInterval > 0, step % settings.evalInterval == 0, validationData != nil {
            let evalStart = Date()
            let evalLoss = try evaluate()
            eval = EvalReport(step: step, loss: evalLoss, seconds: Date().timeIntervalSince(evalStart))
        }
        let tokensPerSecond = Double(tokensPerStep) / seconds
        var report = StepReport(step: step, loss: loss, lmLoss: lm, auxLoss: aux, lr: lr, gradNorm: gradNorm,
                          tokensPerSecond: tokensPerSecond, flopsPerSecond: tokensPerSecond * flopsPerToken,
                          skipped: !finite, tokensPerExpert: routed,
                          droppedFraction: zip(routed, dropped).map { r, d in
                              let total = r.reduce(0, +)
                              return total == 0 ? 0 : Double(d) / Double(total)
                          },
                          eval: eval, communication: communication, zLoss: z / n)
        report.stepSeconds = seconds
        return report
    }

    /// Mean LM loss over `evalIterations` validation micro-batches from position 0 (no gradients).
    public func evaluate() throws -> Double {
        guard let validationData else { throw TrainError.settings("evaluation requested without validation data") }
        var sum: Double = 0
        model.dropoutStream = nil  // evaluation runs without dropout
        for i in 0..<settings.evalIterations {
            let batch = try validationData.microBatch(at: i * settings.microBatchSize, samples: settings.microBatchSize)
            sum += Double(try model.forward(tokens: batch.tokens, targets: batch.targets, gradients: false).lm)
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
