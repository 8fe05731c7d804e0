import Foundation
import Testing
import XMoETrain

/// clip_grad 0 and a huge learning rate: without clipping nothing bounds the gradients, and fp32
/// overflows in the second moment (g²) or the parameters long before the loss turns NaN. The NaN
/// policy must catch it whether or not clipping is on.
@Suite struct NonFiniteGuardTests {
    func settings(_ policy: NonFinitePolicy, lr: Double) -> TrainerSettings {
        var s = Tiny.settings(steps: 8)
        s.clipGrad = 0
        s.evalInterval = 0
        s.nonFinite = policy
        s.schedule = LRSchedule(maxLR: lr, minLR: lr, warmup: 0, decayEnd: 8, decay: .constant)
        return s
    }

    func allFinite(_ t: Trainer) -> Bool {
        let tensors = t.model.parameters.parameters.map(\.value) + t.optimizer.m + t.optimizer.v
        return tensors.allSatisfy { t.model.backend.downloadFloats($0).allSatisfy(\.isFinite) }
    }

    @Test(arguments: [1e20, 1e37])
    func stopPolicyStopsWithAMessage(lr: Double) throws {
        let dir = try TemporaryDirectory()
        let t = try Trainer(model: Tiny.model(), settings: settings(.stop, lr: lr), trainData: Tiny.randomData(),
                            runDirectory: dir.url, specHash: "s")
        do {
            try t.run()
            Issue.record("lr \(lr) without clipping trained 8 steps to completion")
        } catch let error as TrainError {
            guard case .nonFinite(let step, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(step <= 8)
            #expect("\(error)".contains("training stopped (policy `stop`)"))
        }
    }

    @Test(arguments: [1e20, 1e37])
    func skipPolicyKeepsEveryValueFinite(lr: Double) throws {
        let dir = try TemporaryDirectory()
        let t = try Trainer(model: Tiny.model(), settings: settings(.skip, lr: lr), trainData: Tiny.randomData(),
                            runDirectory: dir.url, specHash: "s")
        var skipped = 0
        try t.run { if $0.skipped { skipped += 1 } }
        #expect(skipped > 0)
        #expect(allFinite(t))
        #expect(t.optimizer.step == 8 - skipped)
    }

    /// A skipped update restores the state bit for bit: the parameters after a skipped step are those before it.
    @Test func skippedUpdateRestoresTheState() throws {
        let dir = try TemporaryDirectory()
        let t = try Trainer(model: Tiny.model(), settings: settings(.skip, lr: 1e37), trainData: Tiny.randomData(),
                            runDirectory: dir.url, specHash: "s")
        var before = Tiny.weights(t.model).map(bits)
        var checked = 0
        for _ in 0..<8 {
            let report = try t.trainStep()
            let after = Tiny.weights(t.model).map(bits)
            if report.skipped {
                #expect(after == before, "step \(report.step)")
                checked += 1
            }
            before = after
        }
        #expect(checked > 0)
    }
}
