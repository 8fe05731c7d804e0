import XMoECompute
import XMoEModel

/// AdamW hyper-parameters (Megatron defaults; the rate comes from the schedule each step).
public struct AdamWSettings: Sendable, Equatable {
    public var beta1: Float
    public var beta2: Float
    public var eps: Float
    public var weightDecay: Float

    public init(beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0.01) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
    }
}

/// AdamW over a `ParameterStore`: first and second moments per parameter (same order as the store)
/// and the count of updates applied. Weight decay applies only to parameters flagged for it.
public final class Optimizer {
    public let store: ParameterStore
    public let settings: AdamWSettings
    /// Moments, index-aligned with `store.parameters`.
    public let m: [Tensor]
    public let v: [Tensor]
    /// Updates applied so far (skipped steps do not count); Adam's bias correction uses it.
    public var step: Int = 0

    public init(store: ParameterStore, settings: AdamWSettings) {
        self.store = store
        self.settings = settings
        m = store.parameters.map { store.backend.makeTensor($0.value.shape) }
        v = store.parameters.map { store.backend.makeTensor($0.value.shape) }
    }

    /// L2 norm of all gradients, accumulated in Double in a fixed order (parameters in registration
    /// order, elements in storage order) so it is the same number every run.
    public func gradientNorm() -> Double {
        var sum: Double = 0
        for p in store.parameters {
            for g in store.backend.downloadFloats(p.grad) {
                let d = Double(g)
                sum += d * d
            }
        }
        return sum.squareRoot()
    }

    /// Megatron's clip: when `norm` exceeds `maxNorm`, every gradient is scaled by maxNorm / (norm + 1e-6).
    public func clipGradients(norm: Double, maxNorm: Double) {
        let coefficient = maxNorm / (norm + 1e-6)
        guard coefficient < 1 else { return }
        scaleGradients(by: Float(coefficient))
    }

    public func scaleGradients(by factor: Float) {
        for p in store.parameters { store.backend.scale(p.grad, by: factor) }
    }

    /// One AdamW update of every parameter at rate `lr`.
    public func apply(lr: Float) {
        step += 1
        for (i, p) in store.parameters.enumerated() {
            store.backend.adamwUpdate(param: p.value, grad: p.grad, m: m[i], v: v[i], step: step, lr: lr,
                                      beta1: settings.beta1, beta2: settings.beta2, eps: settings.eps,
                                      weightDecay: p.weightDecay ? settings.weightDecay : 0)
        }
    }
}
