import Foundation
import Testing
import XMoECompute
import XMoEModel
import XMoEStore
import XMoETrain

struct CheckpointTests {
    func moments(_ t: Trainer) -> [[UInt32]] {
        (t.optimizer.m + t.optimizer.v).map { bits(t.model.backend.downloadFloats($0)) }
    }

    /// sigmoid_bias gating with a bias rate, so every kind of state (weights, moments, biases,
    /// counters) differs from a fresh model's.
    func trainer(_ dir: URL, seed: UInt64, steps: Int, every: Int, keep: Int = 2) throws -> Trainer {
        var settings = Tiny.settings(steps: steps, checkpointEvery: every, keep: keep)
        settings.expertBiasRate = 0.01
        return try Trainer(model: Tiny.model(seed: seed, gating: .sigmoidBias), settings: settings,
                           trainData: Tiny.randomData(), validationData: Tiny.randomData(salt: 9),
                           runDirectory: dir, specHash: "spec-abc")
    }

    @Test func loadRestoresEverythingBitExactly() throws {
        let dir = try TemporaryDirectory()
        let saved = try trainer(dir.url, seed: 5, steps: 3, every: 3)
        try saved.run()
        let restored = try trainer(dir.url, seed: 99, steps: 3, every: 3)
        #expect(Tiny.weights(restored.model).map(bits) != Tiny.weights(saved.model).map(bits))
        #expect(try restored.resume() == 3)
        #expect(Tiny.weights(restored.model).map(bits) == Tiny.weights(saved.model).map(bits))
        #expect(moments(restored) == moments(saved))
        #expect(restored.optimizer.step == 3)
        #expect(restored.state == TrainingState(step: 3, consumedSamples: 12))
        #expect(bits(restored.model.expertBias(layer: 1)) == bits(saved.model.expertBias(layer: 1)))
        #expect(saved.model.expertBias(layer: 1).contains { $0 != 0 })
    }

    /// Experts are stacked per layer and kind, one dataset holding every expert of the layer, with
    /// their global ids and global element range as attributes.
    @Test func expertsAreStackedUnderGlobalIds() throws {
        let dir = try TemporaryDirectory()
        let t = try trainer(dir.url, seed: 5, steps: 1, every: 1)
        try t.run()
        let stacked = try #require(t.model.parameters.parameters.first { $0.name.contains("*") && $0.name.hasSuffix("w_in") })
        let all = t.model.backend.downloadFloats(stacked.value)
        let file = try StoreFile.open(at: dir.url.appendingPathComponent("checkpoints/step_000001/rank_00000.h5").path)
        defer { try? file.close() }
        let name = stacked.name.replacingOccurrences(of: ".*", with: "")
        let stored = try file.read("/params/\(name)", as: Float.self)
        #expect(stored.shape == stacked.value.shape)
        #expect(bits(stored.values) == bits(all))
        let attributes = try file.dataset("/params/\(name)").attributes
        #expect(try attributes.int64s("experts") == [0, 1, 2, 3])
        #expect(try attributes.int64s("elements") == [0, Int64(all.count)])
        #expect(try file.attributes.string("format") == "xmoe-checkpoint-2")
        #expect(try file.attributes.string("spec_hash") == "spec-abc")
        #expect(try file.attributes.int64("consumed_samples") == 4)
    }

    @Test func keepsTheNewestKAndLatestNamesTheLast() throws {
        let dir = try TemporaryDirectory()
        try trainer(dir.url, seed: 5, steps: 5, every: 1, keep: 2).run()
        let root = dir.url.appendingPathComponent("checkpoints")
        let names = try FileManager.default.contentsOfDirectory(atPath: root.path).sorted()
        #expect(names == ["latest", "step_000004", "step_000005"])
        #expect(try String(contentsOf: root.appendingPathComponent("latest"), encoding: .utf8) == "step_000005\n")
    }

    @Test func aCheckpointOfAnotherModelIsRejectedByName() throws {
        let dir = try TemporaryDirectory()
        try trainer(dir.url, seed: 5, steps: 1, every: 1).run()
        var bigger = Tiny.config
        bigger.layers = 3
        let model = MoETransformer(config: bigger, options: MoEOptions(gating: .sigmoidBias), backend: CPUBackend())
        let other = try Trainer(model: model, settings: Tiny.settings(steps: 1), trainData: Tiny.randomData(),
                                runDirectory: dir.url, specHash: "x")
        #expect {
            try other.resume()
        } throws: { error in
            "\(error)".contains("no dataset /params/layers.02.") && "\(error)".contains("rank_00000.h5")
        }
    }
}
