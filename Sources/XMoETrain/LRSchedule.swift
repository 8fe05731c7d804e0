import Foundation

/// Learning rate as a function of training progress, with Megatron's `OptimizerParamScheduler`
/// semantics: linear warm-up from 0 to `maxLR` over `warmup` units, then `decay` style down to `minLR`
/// at `decayEnd` units (counted from 0, warm-up included), `minLR` after that.
///
/// Progress is counted in iterations or in tokens (`unit`). Like Megatron, the rate used by update
/// n (1-based) is the rate at the progress made by the n−1 updates before it, so with warm-up the
/// first update runs at lr 0; skipped updates do not advance the schedule.
public struct LRSchedule: Sendable, Equatable {
    public enum Decay: String, Sendable, CaseIterable { case cosine, linear, constant }
    public enum Unit: String, Sendable { case iterations, tokens }

    public var maxLR: Double
    public var minLR: Double
    public var warmup: Int
    public var decayEnd: Int
    public var decay: Decay
    public var unit: Unit

    public init(maxLR: Double, minLR: Double = 0, warmup: Int = 0, decayEnd: Int, decay: Decay = .cosine,
                unit: Unit = .iterations) {
        self.maxLR = maxLR
        self.minLR = minLR
        self.warmup = warmup
        self.decayEnd = decayEnd
        self.decay = decay
        self.unit = unit
    }

    /// The rate after `progress` units (iterations or tokens, per `unit`).
    public func lr(atProgress progress: Int) -> Double {
        if warmup > 0 && progress <= warmup {
            return maxLR * Double(progress) / Double(warmup)
        }
        if decay == .constant { return maxLR }
        if progress > decayEnd { return minLR }
        let span = decayEnd - warmup
        guard span > 0 else { return minLR }
        let ratio = Double(progress - warmup) / Double(span)
        let coefficient: Double
        switch decay {
        case .linear: coefficient = 1 - ratio
        case .cosine: coefficient = 0.5 * (cos(Double.pi * ratio) + 1)
        case .constant: coefficient = 1
        }
        return minLR + coefficient * (maxLR - minLR)
    }

    /// The rate of the update that follows `completedUpdates` successful ones, each consuming
    /// `tokensPerUpdate` tokens.
    public func lr(completedUpdates: Int, tokensPerUpdate: Int) -> Double {
        lr(atProgress: unit == .iterations ? completedUpdates : completedUpdates * tokensPerUpdate)
    }
}
