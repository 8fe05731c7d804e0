import XMoECompute

/// The NaN policy's guard around the AdamW update, active whether or not clipping is on.
///
/// Semantics (Megatron skips an update whose gradients are not finite; we extend that to every way
/// a non-finite value can enter the optimizer state):
/// - before the update, a gradient norm (after clipping) at or above `overflowNorm` counts as non-finite:
///   the norm, accumulated in Double, is a finite number, but in fp32 the bias-corrected second
///   moment v/(1−β₂ᵗ) overflows from |g| ≈ 1.8e19 (the update then silently becomes 0) and the
///   stored moment itself from |g| ≈ 5.8e20 (Inf in the optimizer state);
/// - after the update, parameters and both moments must be finite (a huge learning rate can overflow
///   the parameters from finite gradients).
/// Policy `stop` throws `TrainError.nonFinite` naming the tensor; `skip` restores the parameters,
/// moments and update count from before the step, so the step changes nothing but the data position.
extension Optimizer {
    /// sqrt(Float.greatestFiniteMagnitude) ≈ 1.8e19; a decade below it keeps g², v and v/(1−β₂ᵗ)
    /// clear of overflow: v' = β₂v + (1−β₂)g² never exceeds the largest g² seen, and v/(1−β₂ᵗ) ≤ that too.
    public static let overflowNorm: Double = 1e18

    /// Clip-aware AdamW update under `policy`. Returns whether the update was applied.
    public func applyChecked(lr: Float, gradNorm: Double, clipGrad: Double?, policy: NonFinitePolicy, step: Int) throws -> Bool {
        let clip = clipGrad ?? 0
        let effectiveNorm = clip > 0 ? min(gradNorm, clip) : gradNorm
        guard effectiveNorm < Self.overflowNorm else {
            if policy == .stop {
                let clipping = clip > 0 ? "clipped to \(clip)" : "clipping off"
                throw TrainError.nonFinite(step: step, what: "the gradient norm (\(gradNorm), \(clipping); at \(Self.overflowNorm) "
                    + "or more AdamW's fp32 second moment overflows)")
            }
            return false
        }
        let snapshot = policy == .skip ? state() : nil
        apply(lr: lr)
        guard let bad = firstNonFinite() else { return true }
        if let snapshot {
            restore(snapshot)
            return false
        }
        throw TrainError.nonFinite(step: step, what: "after the update at learning rate \(lr), \(bad)")
    }

    /// Names the first parameter or moment tensor holding NaN or Inf, nil when all are finite.
    func firstNonFinite() -> String? {
        for (i, p) in store.parameters.enumerated() {
            for (what, tensor) in [("parameter", p.value), ("first moment of", m[i]), ("second moment of", v[i])]
            where !Self.allFinite(store.backend.downloadFloats(tensor)) {
                return "the \(what) \(p.name)"
            }
        }
        return nil
    }

    /// x·0 is 0 for every finite x and NaN otherwise: one vectorisable pass.
    static func allFinite(_ values: [Float]) -> Bool {
        var probe: Float = 0
        for x in values { probe += x * 0 }
        return probe == 0
    }

    private func state() -> (values: [[Float]], m: [[Float]], v: [[Float]], step: Int) {
        let backend = store.backend
        return (store.parameters.map { backend.downloadFloats($0.value) }, m.map { backend.downloadFloats($0) },
                v.map { backend.downloadFloats($0) }, step)
    }

    private func restore(_ saved: (values: [[Float]], m: [[Float]], v: [[Float]], step: Int)) {
        let backend = store.backend
        for (i, p) in store.parameters.enumerated() {
            backend.upload(saved.values[i], to: p.value)
            backend.upload(saved.m[i], to: m[i])
            backend.upload(saved.v[i], to: v[i])
        }
        step = saved.step
    }
}
