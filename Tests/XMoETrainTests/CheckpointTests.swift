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

/// Rank files that do not add up to the model: the loader names the expert and the files.
struct CheckpointLayoutErrorTests {
    /// A checkpoint of the tiny model (4 experts) whose layer-1 `w_in` is re-cut into one piece per
    /// rank file: `pieces[r]` are the experts rank file r holds.
    func recut(_ pieces: [Range<Int>]) throws -> (TemporaryDirectory, Trainer) {
        let dir = try TemporaryDirectory()
        let t = try Trainer(model: Tiny.model(), settings: Tiny.settings(steps: 1, checkpointEvery: 1),
                            trainData: Tiny.randomData(), runDirectory: dir.url, specHash: "h")
        try t.run()
        let step = dir.url.appendingPathComponent("checkpoints/step_000001")
        let stacked = t.model.parameters.parameters.first { $0.name.contains("*") && $0.name.hasSuffix("w_in") }!
        let name = stacked.name.replacingOccurrences(of: ".*", with: "")
        let per = stacked.value.count / 4
        let rank0 = try StoreFile.open(at: step.appendingPathComponent("rank_00000.h5").path, mode: .readWrite)
        let whole = try rank0.read("/params/\(name)", as: Float.self).values
        try rank0.attributes.set("world_size", .int64(Int64(pieces.count)))
        try rank0.root.group("params").remove(name)
        for (rank, experts) in pieces.enumerated() {
            let file = rank == 0 ? rank0 : try StoreFile.create(at: step.appendingPathComponent("rank_0000\(rank).h5").path)
            let elements = (experts.lowerBound * per)..<(experts.upperBound * per)
            let dataset = try file.write("/params/\(name)", Array(whole[elements]), shape: [elements.count])
            try dataset.attributes.set("elements", .int64s([Int64(elements.lowerBound), Int64(elements.upperBound)]))
            if rank != 0 { try file.close() }
        }
        try rank0.close()
        return (dir, t)
    }

    func loadError(_ dir: TemporaryDirectory) throws -> String {
        let fresh = try Trainer(model: Tiny.model(seed: 8), settings: Tiny.settings(steps: 1), trainData: Tiny.randomData(),
                                runDirectory: dir.url, specHash: "h")
        do {
            try fresh.resume()
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func aMissingExpertIsNamed() throws {
        let (dir, _) = try recut([0..<2, 3..<4])
        let message = try loadError(dir)
        #expect(message.contains("expert 2 of layers.01.moe.experts.w_in") && message.contains("missing"), "\(message)")
    }

    @Test func aDuplicatedExpertIsNamedWithBothFiles() throws {
        let (dir, _) = try recut([0..<3, 2..<4])
        let message = try loadError(dir)
        #expect(message.contains("expert 2 of layers.01.moe.experts.w_in") && message.contains("stored twice")
                && message.contains("rank_00000.h5") && message.contains("rank_00001.h5"), "\(message)")
    }

    /// The same pieces split over two files load to the same bits as the one-file checkpoint.
    @Test func piecesFromSeveralFilesAssemble() throws {
        let (dir, saved) = try recut([0..<1, 1..<3, 3..<4])
        let fresh = try Trainer(model: Tiny.model(seed: 8), settings: Tiny.settings(steps: 1), trainData: Tiny.randomData(),
                                runDirectory: dir.url, specHash: "h")
        #expect(try fresh.resume() == 1)
        #expect(Tiny.weights(fresh.model).map(bits) == Tiny.weights(saved.model).map(bits))
    }

    /// Format 1 (one rank, one dataset per expert) still loads.
    @Test func theOneRankFormatOneStillLoads() throws {
        let dir = try TemporaryDirectory()
        let t = try Trainer(model: Tiny.model(), settings: Tiny.settings(steps: 2), trainData: Tiny.randomData(),
                            runDirectory: dir.url, specHash: "h")
        try t.run()
        let step = dir.url.appendingPathComponent("checkpoints/step_000002")
        try FileManager.default.createDirectory(at: step, withIntermediateDirectories: true)
        let file = try StoreFile.create(at: step.appendingPathComponent("rank_00000.h5").path)
        let backend = t.model.backend
        let moments = t.optimizer.m.map(backend.downloadFloats), seconds = t.optimizer.v.map(backend.downloadFloats)
        for (gi, group) in t.model.parameters.groups.enumerated() {
            for (i, p) in group.parameters.enumerated() {
                let range = group.elements(of: i)
                for slice in p.slices {
                    let shape = p.experts == nil ? p.value.shape : Array(p.value.shape.dropFirst())
                    let at = (range.lowerBound + slice.elements.lowerBound)..<(range.lowerBound + slice.elements.upperBound)
                    try file.write("/params/\(slice.name)", Array(backend.downloadFloats(group.value)[at]), shape: shape)
                    try file.write("/adam_m/\(slice.name)", Array(moments[gi][at]), shape: shape)
                    try file.write("/adam_v/\(slice.name)", Array(seconds[gi][at]), shape: shape)
                }
            }
        }
        for (key, value) in [("step", 2), ("optimizer_step", 2), ("consumed_samples", 8)] {
            try file.attributes.set(key, .int64(Int64(value)))
        }
        try file.attributes.set("format", .string("xmoe-checkpoint-1"))
        try file.close()
        try "step_000002\n".write(to: dir.url.appendingPathComponent("checkpoints/latest"), atomically: true, encoding: .utf8)
        let fresh = try Trainer(model: Tiny.model(seed: 8), settings: Tiny.settings(steps: 2), trainData: Tiny.randomData(),
                                runDirectory: dir.url, specHash: "h")
        #expect(try fresh.resume() == 2)
        #expect(Tiny.weights(fresh.model).map(bits) == Tiny.weights(t.model).map(bits))
        let restored = (fresh.optimizer.m + fresh.optimizer.v).map { bits(backend.downloadFloats($0)) }
        let original = (t.optimizer.m + t.optimizer.v).map { bits(backend.downloadFloats($0)) }
        #expect(restored == original)
    }
}
