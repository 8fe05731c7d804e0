import Foundation
import Testing
import XMoECompute
import XMoEModel
import XMoETrain

/// AdamW, norm and clipping against float64 math written out here.
struct OptimizerTests {
    func store() -> ParameterStore {
        let s = ParameterStore(backend: CPUBackend(), seed: 1)
        s.add("w", shape: [2, 3], initial: .normal(std: 0.5), weightDecay: true)
        s.add("b", shape: [3], initial: .constant(0.25), weightDecay: false)
        return s
    }

    let grads: [[Float]] = [[0.5, -1.0, 2.0, 0.0, 3.0, -0.25], [1.5, -2.0, 0.125]]

    @Test func gradientNormAndClip() throws {
        let s = store()
        let opt = Optimizer(store: s, settings: AdamWSettings())
        for (p, g) in zip(s.parameters, grads) { s.backend.upload(g, to: p.grad) }
        let expected = grads.joined().reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        #expect(abs(try opt.gradientNorm() - expected) < 1e-12)
        opt.clipGradients(norm: expected, maxNorm: 1.0)
        let clipped = s.parameters.flatMap { s.backend.downloadFloats($0.grad) }
        #expect(abs(try opt.gradientNorm() - 1.0) < 1e-5)
        for (c, g) in zip(clipped, grads.joined()) { #expect(abs(Double(c) - Double(g) / (expected + 1e-6)) < 1e-6) }
        opt.clipGradients(norm: 1.0, maxNorm: 5.0)  // under the limit: unchanged
        #expect(s.parameters.flatMap { s.backend.downloadFloats($0.grad) } == clipped)
    }

    /// Two updates; decay only on `w` (decaying `b` too would move it by lr·0.1·0.25 ≫ the tolerance).
    @Test func adamwMatchesFloat64AndDecaysOnlyFlagged() throws {
        let s = store()
        let settings = AdamWSettings(beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1)
        let opt = Optimizer(store: s, settings: settings)
        var p = s.parameters.map { s.backend.downloadFloats($0.value).map(Double.init) }
        var m = p.map { [Double](repeating: 0, count: $0.count) }, v = m
        let lrs = [0.01, 0.02]
        for (t, lr) in lrs.enumerated() {
            for (param, g) in zip(s.parameters, grads) { s.backend.upload(g.map { $0 * Float(t + 1) }, to: param.grad) }
            try opt.apply(lr: Float(lr))
            for i in 0..<p.count {
                let decay = i == 0 ? 0.1 : 0.0
                for j in 0..<p[i].count {
                    let g = Double(grads[i][j]) * Double(t + 1)
                    m[i][j] = 0.9 * m[i][j] + 0.1 * g
                    v[i][j] = 0.95 * v[i][j] + 0.05 * g * g
                    let mh = m[i][j] / (1 - pow(0.9, Double(t + 1))), vh = v[i][j] / (1 - pow(0.95, Double(t + 1)))
                    p[i][j] -= lr * (mh / (vh.squareRoot() + 1e-8) + decay * p[i][j])
                }
            }
        }
        #expect(opt.step == 2)
        for (param, ref) in zip(s.parameters, p) {
            for (got, want) in zip(s.backend.downloadFloats(param.value), ref) { #expect(abs(Double(got) - want) < 1e-6) }
        }
    }

    /// bf16 compute: the update refreshes the compute copy in its own pass (no refreshComputeCopy
    /// afterwards), so after each step the copy is the updated masters rounded to nearest even,
    /// checked against `roundToBFloat16` of the downloaded masters.
    @Test func updateRefreshesTheBF16ComputeCopy() throws {
        let s = ParameterStore(backend: CPUBackend(computeDType: .bfloat16), seed: 1)
        s.add("w", shape: [2, 3], initial: .normal(std: 0.5), weightDecay: true)
        s.add("b", shape: [3], initial: .constant(0.25), weightDecay: false)
        s.seal()
        let opt = Optimizer(store: s, settings: AdamWSettings(beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1))
        let before = s.parameters.flatMap { s.backend.downloadFloats($0.compute!) }
        for step in 1...2 {
            for (param, g) in zip(s.parameters, grads) { s.backend.upload(g.map { $0 * Float(step) }, to: param.grad) }
            try opt.apply(lr: 0.05)
            for param in s.parameters {
                let masters = s.backend.downloadFloats(param.value)
                #expect(s.backend.downloadFloats(param.compute!) == masters.map(roundToBFloat16), "\(param.name), step \(step)")
            }
        }
        // The update is large enough to move the rounded values (else the check above could not fail).
        #expect(s.parameters.flatMap { s.backend.downloadFloats($0.compute!) } != before)
    }
}
