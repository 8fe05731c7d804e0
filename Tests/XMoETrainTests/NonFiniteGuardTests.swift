import Foundation
import Testing
import XMoETrain

/// Without clipping nothing bounds the gradients: a gradient whose norm is a finite Double can
/// still overflow fp32 in AdamW's second moment (g² > 3.4e38 once |g| > 1.8e19), and a damaged
/// state can turn the update itself non-finite. The NaN policy must catch both, clipping on or off.
@Suite struct NonFiniteGuardTests {
    /// A tiny model after one real backward pass, with its gradients then scaled so that their
    /// largest element is `largest`.
    func optimizerWithGradients(largest: Float) throws -> (Trainer, Optimizer) {
        let dir = try TemporaryDirectory()
        let t = try Trainer(model: Tiny.model(), settings: Tiny.settings(steps: 1), trainData: Tiny.randomData(),
                            runDirectory: dir.url, specHash: "s")
        let batch = try Tiny.randomData().microBatch(at: 0, samples: 2)
        _ = try t.model.forward(tokens: batch.tokens, targets: batch.targets)
        try t.model.backward()
        let backend = t.model.backend
        let grads = t.model.parameters.parameters.map { backend.downloadFloats($0.grad) }
        let maximum = grads.flatMap { $0 }.map(abs).max()!
        for (p, g) in zip(t.model.parameters.parameters, grads) {
            backend.upload(g.map { $0 / maximum * largest }, to: p.grad)
        }
        return (t, t.optimizer)
    }

    func state(_ t: Trainer) -> [[UInt32]] {
        (t.model.parameters.parameters.map(\.value) + t.optimizer.m + t.optimizer.v).map { bits(t.model.backend.downloadFloats($0)) }
    }

    func allFinite(_ t: Trainer) -> Bool {
        let tensors = t.model.parameters.parameters.map(\.value) + t.optimizer.m + t.optimizer.v
        return tensors.allSatisfy { t.model.backend.downloadFloats($0).allSatisfy(\.isFinite) }
    }

    /// The fault itself: the plain update turns a gradient of 1e21 (a finite norm) into an infinite
    /// second moment. (From 1.8e19 on, the bias-corrected moment v/(1−β₂) already overflows and the
    /// update silently becomes 0.)
    @Test func plainUpdateOverflowsTheSecondMoment() throws {
        let (t, optimizer) = try optimizerWithGradients(largest: 1e21)
        let norm = try optimizer.gradientNorm()
        #expect(norm.isFinite)
        try optimizer.apply(lr: 1e-3)
        #expect(!allFinite(t))
    }

    @Test func stopPolicyThrowsNamingTheStep() throws {
        let (_, optimizer) = try optimizerWithGradients(largest: 3e19)
        let norm = try optimizer.gradientNorm()
        do {
            _ = try optimizer.applyChecked(lr: 1e-3, gradNorm: norm, clipGrad: 0, policy: .stop, step: 7)
            Issue.record("an update that overflows fp32 was applied")
        } catch let error as TrainError {
            let text = "\(error)"
            #expect(text.contains("step 7") && text.contains("AdamW's fp32 second moment overflows")
                    && text.contains("training stopped (policy `stop`)"), "\(text)")
        }
    }

    @Test func skipPolicyLeavesTheStateUntouched() throws {
        let (t, optimizer) = try optimizerWithGradients(largest: 3e19)
        let before = state(t)
        let applied = try optimizer.applyChecked(lr: 1e-3, gradNorm: optimizer.gradientNorm(), clipGrad: 0, policy: .skip, step: 1)
        #expect(!applied)
        #expect(state(t) == before)
        #expect(optimizer.step == 0)
    }

    /// With clipping on, the same gradient is scaled down first and the update goes ahead.
    @Test func clippingMakesTheSameGradientSafe() throws {
        let (t, optimizer) = try optimizerWithGradients(largest: 3e19)
        let norm = try optimizer.gradientNorm()
        optimizer.clipGradients(norm: norm, maxNorm: 1)
        let applied = try optimizer.applyChecked(lr: 1e-3, gradNorm: norm, clipGrad: 1, policy: .stop, step: 1)
        #expect(applied)
        #expect(allFinite(t))
    }

    /// A non-finite value produced by the update itself (here from an infinite first moment, as a
    /// damaged state would hold): stop names the parameter, skip restores the state bit for bit.
    @Test func nonFiniteUpdateIsCaughtAfterTheFact() throws {
        for policy in [NonFinitePolicy.stop, .skip] {
            let (t, optimizer) = try optimizerWithGradients(largest: 1)
            let backend = t.model.backend
            var m0 = backend.downloadFloats(optimizer.m[0])
            m0[0] = .infinity
            backend.upload(m0, to: optimizer.m[0])
            let before = state(t)
            let name = t.model.parameters.parameters[0].name
            do {
                let applied = try optimizer.applyChecked(lr: 1e-3, gradNorm: optimizer.gradientNorm(), clipGrad: 0,
                                                         policy: policy, step: 3)
                #expect(policy == .skip && !applied)
                #expect(state(t) == before)
            } catch let error as TrainError {
                #expect(policy == .stop)
                #expect("\(error)".contains("the parameter \(name)"), "\(error)")
            }
        }
    }

    /// Through the step loop: clip_grad 0, a learning rate that makes the gradients explode, policy skip.
    @Test func trainerWithoutClippingKeepsEveryValueFinite() throws {
        let dir = try TemporaryDirectory()
        var s = Tiny.settings(steps: 8)
        s.clipGrad = 0
        s.evalInterval = 0
        s.schedule = LRSchedule(maxLR: 10, minLR: 10, warmup: 0, decayEnd: 8, decay: .constant)
        let t = try Trainer(model: Tiny.model(), settings: s, trainData: Tiny.randomData(), runDirectory: dir.url, specHash: "s")
        var skipped = 0
        try t.run { if $0.skipped { skipped += 1 } }
        #expect(allFinite(t))
        #expect(t.optimizer.step == 8 - skipped)
    }
}
