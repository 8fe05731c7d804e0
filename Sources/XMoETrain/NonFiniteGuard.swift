import XMoECompute
import XMoEParallel

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
        let savedStep = policy == .skip ? state() : nil
        try apply(lr: lr)
        // Every rank must take the same decision: a bad value in one rank's experts or shard
        // skips (or stops) the update everywhere, or the replicas would diverge.
        let bad = firstNonFinite()
        var anyBad = [bad == nil ? 0 : 1]
        if world.size > 1 { try world.allReduce(&anyBad, op: .max) }
        guard anyBad[0] != 0 else { return true }
        if let savedStep {
            restore(savedStep)
            return false
        }
        throw TrainError.nonFinite(step: step, what: "after the update at learning rate \(lr), "
            + (bad ?? "a parameter or moment on another rank"))
    }

    /// Names the first parameter (or the parameter whose moment) holding NaN or Inf in what this
    /// rank owns, nil when all are finite. Every step asks the backend one Bool per buffer; only a
    /// bad buffer is downloaded, to name the parameter.
    func firstNonFinite() -> String? {
        let backend = store.backend
        let clean = placements.indices.allSatisfy { gi in
            backend.allFinite(placements[gi].group.value) && backend.allFinite(m[gi]) && backend.allFinite(v[gi])
        }
        if clean { return nil }
        for (gi, p) in placements.enumerated() {
            let checks: [(String, [Float], Int)] = [
                ("parameter", backend.downloadFloats(p.group.value), 0),
                ("first moment of", backend.downloadFloats(m[gi]), p.owned.lowerBound),
                ("second moment of", backend.downloadFloats(v[gi]), p.owned.lowerBound),
            ]
            for (what, values, base) in checks where !Self.allFinite(values) {
                let element = base + (values.firstIndex { !$0.isFinite } ?? 0)
                let index = p.group.parameters.indices.first { p.group.elements(of: $0).contains(element) }
                return "the \(what) \(index.map { p.group.parameters[$0].name } ?? "group \(gi)")"
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

    /// Copies the values, moments and update count on the backend (no download).
    private func state() -> Int {
        let backend = store.backend
        if snapshot.isEmpty {
            snapshot = placements.indices.map { gi in
                (backend.makeTensor([placements[gi].group.count]), backend.makeTensor([m[gi].count]), backend.makeTensor([v[gi].count]))
            }
        }
        for (gi, p) in placements.enumerated() {
            backend.copy(from: p.group.value, to: snapshot[gi].value)
            backend.copy(from: m[gi], to: snapshot[gi].m)
            backend.copy(from: v[gi], to: snapshot[gi].v)
        }
        return step
    }

    private func restore(_ savedStep: Int) {
        let backend = store.backend
        for (gi, p) in placements.enumerated() {
            backend.copy(from: snapshot[gi].value, to: p.group.value)
            backend.copy(from: snapshot[gi].m, to: m[gi])
            backend.copy(from: snapshot[gi].v, to: v[gi])
        }
        step = savedStep
    }
}
