import Foundation
import XMoEParallel

/// What one training step did, for the progress display and metrics.h5.
public struct StepReport: Sendable, Equatable {
    public var step: Int
    /// Mean over micro-batches of the total loss (lm + coefficients · aux, z).
    public var loss: Double
    public var lmLoss: Double
    /// Σ_layers aux loss, unscaled, mean over micro-batches.
    public var auxLoss: Double
    public var lr: Double
    /// Global L2 norm of the averaged gradients before clipping (NaN/Inf when they were).
    public var gradNorm: Double
    public var tokensPerSecond: Double
    public var flopsPerSecond: Double
    /// True when the update was skipped for a non-finite loss or gradient.
    public var skipped: Bool
    /// Per MoE layer (in layer order): slots routed to each global expert over the step's micro-batches.
    public var tokensPerExpert: [[Int]]
    /// Per MoE layer: dropped share of the routed slots.
    public var droppedFraction: [Double]
    /// Set on steps that ran an evaluation.
    public var eval: EvalReport?
    /// Bytes and time of the step's dispatch, combine and gradient sync (with ZeRO-1's all-gather).
    public var communication = StepCommunication.zero
    /// Σ_layers router z-loss, unscaled, mean over micro-batches.
    public var zLoss: Double = 0
    /// Wall-clock seconds of this step's training work (evaluation and checkpointing excluded).
    public var stepSeconds: Double = 0
    /// Wall-clock seconds of training up to the end of this step, over every session of a resumed run
    /// (set by `Trainer.run`).
    public var elapsedSeconds: Double = 0
}

public struct EvalReport: Sendable, Equatable {
    public var step: Int
    /// Mean LM loss over the validation micro-batches.
    public var loss: Double
    /// Wall-clock seconds the evaluation took.
    public var seconds: Double = 0
    public var perplexity: Double { exp(loss) }
}
