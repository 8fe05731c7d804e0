import Foundation
import Testing
import XMoECompute
import XMoEModel
import XMoEStore
import XMoETrain

struct TrainerTests {
    @Test func lossFallsOnALearnableTask() throws {
        let dir = try TemporaryDirectory()
        var settings = Tiny.settings(steps: 40)
        settings.schedule = LRSchedule(maxLR: 0.02, minLR: 0.002, warmup: 3, decayEnd: 40)
        let trainer = try Trainer(model: Tiny.model(), settings: settings, trainData: Tiny.countingData(),
                                  validationData: Tiny.countingData(offset: 5), runDirectory: dir.url, specHash: "h")
        var reports: [StepReport] = []
        try trainer.run { reports.append($0) }
        #expect(reports.count == 40)
        let first = reports.prefix(3).map(\.lmLoss).reduce(0, +) / 3
        let last = reports.suffix(3).map(\.lmLoss).reduce(0, +) / 3
        #expect(first > 2.5)  // ≈ ln 40 at init
        #expect(last < 0.5 * first)
        let evals = reports.compactMap(\.eval)
        #expect(evals.count == 13)
        #expect(evals.last!.loss < 0.5 * evals.first!.loss)
        #expect(reports.allSatisfy { !$0.skipped && $0.tokensPerSecond > 0 })
        // Warm-up: the first update runs at lr 0, the second at max·1/3 (Megatron).
        #expect(reports[0].lr == 0)
        #expect(abs(reports[1].lr - 0.02 / 3) < 1e-12)
    }

    /// metrics.h5 holds exactly the reported rows, with units.
    @Test func metricsFileMatchesReports() throws {
        let dir = try TemporaryDirectory()
        let trainer = try Trainer(model: Tiny.model(), settings: Tiny.settings(steps: 6), trainData: Tiny.randomData(),
                                  validationData: Tiny.randomData(salt: 9), runDirectory: dir.url, specHash: "h")
        var reports: [StepReport] = []
        try trainer.run { reports.append($0) }
        let file = try StoreFile.open(at: trainer.metricsURL.path)
        defer { try? file.close() }
        #expect(try file.series("/train/step", of: Double.self).readAll().values == [1, 2, 3, 4, 5, 6])
        #expect(bits(try file.series("/train/loss", of: Double.self).readAll().values) == bits(reports.map(\.loss)))
        #expect(bits(try file.series("/train/grad_norm", of: Double.self).readAll().values) == bits(reports.map(\.gradNorm)))
        #expect(try file.series("/eval/step", of: Double.self).readAll().values == [3, 6])
        let ppl = try file.series("/eval/perplexity", of: Double.self).readAll().values
        let evalLoss = try file.series("/eval/loss", of: Double.self).readAll().values
        for (p, l) in zip(ppl, evalLoss) { #expect(abs(p - exp(l)) < 1e-9 * p) }
        let load = try file.series("/moe/layer_01/tokens_per_expert", of: Int64.self).rows()
        #expect(load.count == 6)
        // 4 samples · 8 tokens · top-2 slots per step.
        #expect(load.allSatisfy { $0.reduce(0, +) == 64 })
        #expect(try file.dataset("/train/flops_per_s").attributes.string("units") == "FLOP/s")
        #expect(try file.dataset("/moe/layer_01/dropped_fraction").attributes.string("units") == "1")
    }

    /// Micro 2 × 2 accumulated equals one micro-batch of 4, up to rounding (aux loss off: it is not
    /// additive over micro-batches).
    @Test func gradientAccumulationMatchesOneBigBatch() throws {
        let dir = try TemporaryDirectory()
        var accumulate = Tiny.settings(steps: 3)
        accumulate.evalInterval = 0
        var whole = accumulate
        whole.microBatchSize = 4
        let a = try Trainer(model: Tiny.model(auxLossCoeff: 0), settings: accumulate, trainData: Tiny.randomData(),
                            runDirectory: dir.url.appendingPathComponent("a"), specHash: "h")
        let b = try Trainer(model: Tiny.model(auxLossCoeff: 0), settings: whole, trainData: Tiny.randomData(),
                            runDirectory: dir.url.appendingPathComponent("b"), specHash: "h")
        var ra: [StepReport] = [], rb: [StepReport] = []
        try a.run { ra.append($0) }
        try b.run { rb.append($0) }
        #expect(abs(ra[0].gradNorm - rb[0].gradNorm) < 1e-5 * rb[0].gradNorm)
        for (x, y) in zip(ra, rb) { #expect(abs(x.lmLoss - y.lmLoss) < 1e-4) }
    }

    @Test func nonFiniteSkipLeavesWeightsAndStopNamesTheStep() throws {
        let dir = try TemporaryDirectory()
        let model = Tiny.model()
        let poisoned = model.parameters.parameters[0]
        var values = model.backend.downloadFloats(poisoned.value)
        values[0] = .nan
        model.backend.upload(values, to: poisoned.value)
        var settings = Tiny.settings(steps: 2)
        settings.evalInterval = 0
        let skipping = try Trainer(model: model, settings: settings, trainData: Tiny.randomData(),
                                   runDirectory: dir.url.appendingPathComponent("skip"), specHash: "h")
        let before = Tiny.weights(model)
        var reports: [StepReport] = []
        try skipping.run { reports.append($0) }
        #expect(reports.map(\.skipped) == [true, true])
        #expect(skipping.optimizer.step == 0)
        #expect(Tiny.weights(model).map(bits) == before.map(bits))
        let file = try StoreFile.open(at: skipping.metricsURL.path)
        #expect(try file.series("/train/skipped", of: Double.self).readAll().values == [1, 1])
        try file.close()

        settings.nonFinite = .stop
        let stopping = try Trainer(model: model, settings: settings, trainData: Tiny.randomData(),
                                   runDirectory: dir.url.appendingPathComponent("stop"), specHash: "h")
        #expect(throws: TrainError.nonFinite(step: 1, what: "the loss (nan)")) { try stopping.run() }
    }

    @Test func rejectsABatchThatIsNotAMultipleOfTheMicroBatch() throws {
        var settings = Tiny.settings(steps: 1)
        settings.globalBatchSize = 5
        #expect(throws: TrainError.self) {
            try Trainer(model: Tiny.model(), settings: settings, trainData: Tiny.randomData(),
                        runDirectory: URL(fileURLWithPath: "/nonexistent"), specHash: "h")
        }
    }

    /// A run that died before its first checkpoint leaves rows; the fresh start replaces them.
    @Test func aFreshStartDropsRowsOfARunWithoutCheckpoint() throws {
        let dir = try TemporaryDirectory()
        try Trainer(model: Tiny.model(), settings: Tiny.settings(steps: 2), trainData: Tiny.randomData(),
                    runDirectory: dir.url, specHash: "h").run()
        let again = try Trainer(model: Tiny.model(), settings: Tiny.settings(steps: 3), trainData: Tiny.randomData(),
                                runDirectory: dir.url, specHash: "h")
        #expect(try again.resume() == nil)
        try again.run()
        let file = try StoreFile.open(at: again.metricsURL.path)
        defer { try? file.close() }
        #expect(try file.series("/train/step", of: Double.self).readAll().values == [1, 2, 3])
    }
}
