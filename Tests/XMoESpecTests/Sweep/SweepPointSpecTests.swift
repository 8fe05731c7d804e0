import Foundation
import Testing
@testable import XMoESpec

/// Each point's spec against the normal spec machinery, and overrides.
@Suite struct SweepPointSpecTests {
    static let grid = """
        name: quickstart-grid
        train:
          iters: 60
        sweep:
          name: "e{moe.num_experts}-k{moe.top_k}-lr{train.lr}"
          grid:
            moe.num_experts: [4, 8]
            moe.top_k: [1, 2]
          zip:
            - train.lr: [1.0e-3, 3.0e-3]
              train.min_lr: [1.0e-4, 3.0e-4]

        """

    @Test func aPointEqualsTheHandWrittenSpecWithItsValuesAsOverrides() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.writeSweep(Self.grid)
        // The same file without its sweep section, loaded by ExperimentSpec with the point's values.
        try dir.write("sweeps/hand.yaml", "extends: ../base.yaml\nname: quickstart-grid\ntrain:\n  iters: 60\n")
        let sweep = try dir.sweep("grid.yaml", ["model.hidden=128"])
        let point = try #require(sweep.points.first { $0.name == "e8-k1-lr0.003" })
        let hand = try dir.load("sweeps/hand.yaml", ["model.hidden=128", "moe.num_experts=8", "moe.top_k=1",
                                                     "train.lr=0.003", "train.min_lr=3e-4", "name=e8-k1-lr0.003",
                                                     "output.dir=out/runs/quickstart-grid",
                                                     // Points keep the base's cache, not one under their own output.dir.
                                                     "output.cache_dir=out/runs/cache"])
        #expect(point.spec.hash == hand.hash)
        #expect(point.spec.canonicalYAML == hand.canonicalYAML)
        // The point's recorded overrides reproduce it from the same files.
        let again = try dir.load("sweeps/hand.yaml", point.spec.overrides)
        #expect(again.hash == point.spec.hash)
        // The base is the file and the overrides without any point's values.
        let base = try dir.load("sweeps/hand.yaml", ["model.hidden=128"])
        #expect(sweep.base.hash == base.hash)
    }

    @Test func overridesApplyToEveryPointBeforeThePointsValues() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.writeSweep(Self.grid)
        let sweep = try dir.sweep("grid.yaml", ["train.iters=7", "model.heads=8"])
        #expect(sweep.points.count == 8)
        #expect(sweep.base.values.int("train.iters") == 7)
        for point in sweep.points {
            #expect(point.spec.values.int("train.iters") == 7)
            #expect(point.spec.values.int("model.heads") == 8)
        }
        // Without overrides the file's value holds.
        #expect(try dir.sweep().points.allSatisfy { $0.spec.values.int("train.iters") == 60 })
    }

    @Test func anOverrideOfAVariedKeyFails() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.writeSweep(Self.grid)
        let errors = dir.sweepErrors("grid.yaml", ["train.iters=7", "moe.top_k=1"])
        #expect(errors.map(\.description) == [
            "command line: override #2 'moe.top_k=1': error: moe.top_k: moe.top_k is varied by the sweep; "
                + "remove it from the grid or from the command line",
        ])
    }

    @Test func invalidPointsAreReportedWithTheirValuesAndValidOnesAreNot() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        // The base sets min_lr 1e-5 and top_k ≤ num_experts is the rule: (4, 8) breaks it, and
        // lr 1e-6 falls below min_lr.
        try dir.writeSweep("""
            sweep:
              name: "e{moe.num_experts}-k{moe.top_k}-lr{train.lr}"
              grid:
                moe.num_experts: [4, 8]
                moe.top_k: [2, 8]
                train.lr: [1.0e-6, 1.0e-3]

            """)
        let errors = dir.sweepErrors()
        var expected: [String] = []
        for experts in [4, 8] { for k in [2, 8] { for lr in ["1e-06", "0.001"] {
            let context = "point e\(experts)-k\(k)-lr\(lr) (moe.num_experts=\(experts), moe.top_k=\(k), train.lr=\(lr))"
            if k > experts {
                expected.append(try dir.position(of: "8]", occurrence: 2) + ": error: \(context): moe.top_k: "
                                + "moe.top_k (8) must not exceed moe.num_experts (4)")
            }
            if lr == "1e-06" { expected.append("\(context): train.min_lr") }
        } } }
        #expect(errors.count == expected.count)
        for (error, text) in zip(errors, expected) {
            #expect(error.description.contains(text), "\(error) should contain \(text)")
        }
    }
}
