/// What happens when a step's loss or gradient norm is NaN/Inf.
public enum NonFinitePolicy: String, Sendable, CaseIterable {
    /// No update; the step is reported (`skipped`) and training continues with the next batch.
    case skip
    /// Throw `TrainError.nonFinite` naming the step.
    case stop
}

/// The training-loop values a spec sets. The global batch is split over the data-parallel ranks,
/// each accumulating `globalBatchSize / (microBatchSize · dp)` micro-batches (`Trainer.accumulationSteps`).
public struct TrainerSettings: Sendable, Equatable {
    /// Samples (sequences) per micro-batch.
    public var microBatchSize: Int
    /// Samples per optimizer step.
    public var globalBatchSize: Int
    /// Total training steps.
    public var trainSteps: Int
    public var schedule: LRSchedule
    public var adamw: AdamWSettings
    /// Global gradient-norm clip; nil or ≤ 0 disables clipping.
    public var clipGrad: Double?
    public var nonFinite: NonFinitePolicy
    /// Evaluate after every `evalInterval` steps (0 = never).
    public var evalInterval: Int
    /// Validation micro-batches per evaluation (always the same ones, from position 0).
    public var evalIterations: Int
    /// Checkpoint after every `checkpointInterval` steps and at the end (0 = never).
    public var checkpointInterval: Int
    /// Complete checkpoints kept (newest first).
    public var keepCheckpoints: Int
    /// sigmoid_bias gating: DeepSeek-V3 bias update rate per step (0 = off).
    public var expertBiasRate: Float

    public init(microBatchSize: Int, globalBatchSize: Int, trainSteps: Int, schedule: LRSchedule,
                adamw: AdamWSettings = AdamWSettings(), clipGrad: Double? = 1.0, nonFinite: NonFinitePolicy = .skip,
                evalInterval: Int = 0, evalIterations: Int = 1, checkpointInterval: Int = 0, keepCheckpoints: Int = 2,
                expertBiasRate: Float = 0) {
        self.microBatchSize = microBatchSize
        self.globalBatchSize = globalBatchSize
        self.trainSteps = trainSteps
        self.schedule = schedule
        self.adamw = adamw
        self.clipGrad = clipGrad
        self.nonFinite = nonFinite
        self.evalInterval = evalInterval
        self.evalIterations = evalIterations
        self.checkpointInterval = checkpointInterval
        self.keepCheckpoints = keepCheckpoints
        self.expertBiasRate = expertBiasRate
    }

    /// Micro-batches per step summed over all data-parallel ranks.
    public var accumulationSteps: Int { globalBatchSize / microBatchSize }

    func validate() throws {
        guard microBatchSize > 0, globalBatchSize > 0, globalBatchSize % microBatchSize == 0 else {
            throw TrainError.settings("training: global batch size \(globalBatchSize) must be a positive multiple "
                + "of the micro-batch size \(microBatchSize)")
        }
        guard trainSteps >= 0, evalInterval >= 0, checkpointInterval >= 0, evalIterations > 0 || evalInterval == 0 else {
            throw TrainError.settings("training: train steps (\(trainSteps)), eval interval (\(evalInterval)), "
                + "eval iterations (\(evalIterations)) and checkpoint interval (\(checkpointInterval)) must not be negative")
        }
    }
}
