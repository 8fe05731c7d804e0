import Foundation
import Testing
@testable import XMoESpec

@Suite struct SweepExpansionTests {
    @Test func gridIsTheProductFirstKeySlowest() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.writeSweep("""
            sweep:
              grid:
                moe.num_experts: [4, 8, 16]
                moe.top_k: [1, 2]
                seed: [7, 9]

            """)
        let sweep = try dir.sweep()
        var expected: [(Int, Int, Int)] = []
        for experts in [4, 8, 16] { for k in [1, 2] { for seed in [7, 9] { expected.append((experts, k, seed)) } } }
        #expect(sweep.variedKeys == ["moe.num_experts", "moe.top_k", "seed"])
        #expect(sweep.points.count == 12 && sweep.excludedCount == 0)
        for (point, (experts, k, seed)) in zip(sweep.points, expected) {
            #expect(point.spec.values.int("moe.num_experts") == experts)
            #expect(point.spec.values.int("moe.top_k") == k)
            #expect(point.spec.seed == seed)
            #expect(point.assignments == [SweepAssignment(key: "moe.num_experts", value: "\(experts)"),
                                          SweepAssignment(key: "moe.top_k", value: "\(k)"),
                                          SweepAssignment(key: "seed", value: "\(seed)")])
            // Values the sweep leaves alone come from the file chain.
            #expect(point.spec.values.int("model.hidden") == 64)
        }
        #expect(sweep.points.map(\.index) == Array(1...12))
    }

    @Test func zipGroupsPairTheirListsAndAreOneAxis() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.writeSweep("""
            sweep:
              grid:
                moe.top_k: [1, 2]
              zip:
                - train.lr: [1.0e-3, 3.0e-3]
                  train.min_lr: [1.0e-4, 3.0e-4]
                - model.layers: [2, 3, 4]

            """)
        let sweep = try dir.sweep()
        #expect(sweep.variedKeys == ["moe.top_k", "train.lr", "train.min_lr", "model.layers"])
        var expected: [(Int, Double, Double, Int)] = []
        for k in [1, 2] { for (lr, minLR) in [(1e-3, 1e-4), (3e-3, 3e-4)] { for layers in [2, 3, 4] {
            expected.append((k, lr, minLR, layers))
        } } }
        #expect(sweep.points.count == expected.count)
        for (point, (k, lr, minLR, layers)) in zip(sweep.points, expected) {
            #expect(point.spec.values.int("moe.top_k") == k)
            #expect(point.spec.values.float("train.lr") == lr)
            #expect(point.spec.values.float("train.min_lr") == minLR)
            #expect(point.spec.values.int("model.layers") == layers)
        }
    }

    @Test func excludeRulesMatchCanonicalValuesExactlyOrFromAList() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        // The grid writes 0.001 and the rule 1e-3: the same number, so the rule applies.
        try dir.writeSweep("""
            sweep:
              grid:
                moe.num_experts: [4, 8]
                moe.top_k: [1, 2, 3]
                train.lr: [0.001, 3.0e-3]
              exclude:
                - {moe.num_experts: 4, moe.top_k: 2}
                - {train.lr: [1e-3], moe.top_k: [1, 3]}

            """)
        let sweep = try dir.sweep()
        var kept: [(Int, Int, Double, Int)] = []  // experts, k, lr, index before exclusion
        var index = 0
        for experts in [4, 8] { for k in [1, 2, 3] { for lr in [1e-3, 3e-3] {
            index += 1
            if experts == 4 && k == 2 { continue }
            if lr == 1e-3 && (k == 1 || k == 3) { continue }
            kept.append((experts, k, lr, index))
        } } }
        #expect(sweep.points.count == kept.count)
        #expect(sweep.excludedCount == 12 - kept.count)
        for (point, (experts, k, lr, index)) in zip(sweep.points, kept) {
            #expect(point.spec.values.int("moe.num_experts") == experts)
            #expect(point.spec.values.int("moe.top_k") == k)
            #expect(point.spec.values.float("train.lr") == lr)
            // Indices count the full product, so they stay put when rules change.
            #expect(point.index == index)
        }
    }

    @Test func patternNamesPointsAndRunsLandUnderTheSweepName() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.writeSweep("""
            name: quickstart-grid
            sweep:
              name: "e{moe.num_experts}-k{moe.top_k} {moe.dispatcher}/{index}"
              grid:
                moe.num_experts: [4, 8]
                moe.top_k: [1, 2]

            """)
        let sweep = try dir.sweep()
        #expect(sweep.name == "quickstart-grid")
        #expect(sweep.base.name == "quickstart-grid")
        #expect(sweep.outputDirectory == "out/runs/quickstart-grid")
        // Space and slash are not directory-safe and become underscores.
        #expect(sweep.points.map(\.name) == ["e4-k1_pft_1", "e4-k2_pft_2", "e8-k1_pft_3", "e8-k2_pft_4"])
        for point in sweep.points {
            #expect(point.spec.name == point.name)
            #expect(point.spec.values.string("output.dir") == "out/runs/quickstart-grid")
        }
    }

    @Test func defaultPatternJoinsLastKeyComponentsAndValues() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.writeSweep("""
            sweep:
              grid:
                moe.num_experts: [4]
                moe.top_k: [1, 2]
                model.activation: [gelu]
                moe.expert_activation: [swiglu]
              zip:
                - train.lr: [1.0e-3]

            """)
        let sweep = try dir.sweep()
        #expect(sweep.points.map(\.name) == ["num_experts4-top_k1-activationgelu-expert_activationswiglu-lr0.001",
                                             "num_experts4-top_k2-activationgelu-expert_activationswiglu-lr0.001"])
        // Without a `name` anywhere in its chain the sweep is named after its file.
        try dir.write("sweeps/plain.yaml", "sweep:\n  grid:\n    model.dropout: [0.0]\n    model.attention_dropout: [0.1]\n")
        let plain = try dir.sweep("plain.yaml")
        #expect(plain.name == "plain")
        #expect(plain.points.map(\.name) == ["dropout0.0-attention_dropout0.1"])
        #expect(plain.outputDirectory == "runs/plain")
    }

    @Test func aFileWithoutAxesIsOnePointNamedAfterTheSweep() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.writeSweep("name: single\n", as: "one.yaml")
        let sweep = try dir.sweep("one.yaml")
        #expect(sweep.variedKeys.isEmpty)
        #expect(sweep.points.count == 1)
        #expect(sweep.points[0].name == "single" && sweep.points[0].index == 1)
        #expect(sweep.points[0].spec.values.string("output.dir") == "out/runs/single")
    }

    @Test func nullAndListValuesAreSweptAndExcludedLikeFileValues() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        // null resets a key to its default; a list key takes lists, and a rule may give one list.
        try dir.writeSweep("""
            sweep:
              grid:
                train.warmup_tokens: [null, 1000]
                data.json_keys: [[text], [text, title]]
              exclude:
                - {train.warmup_tokens: null, data.json_keys: [text, title]}

            """)
        let sweep = try dir.sweep()
        #expect(sweep.excludedCount == 1)
        #expect(sweep.points.map(\.name) == ["warmup_tokensnull-json_keystext", "warmup_tokens1000-json_keystext",
                                             "warmup_tokens1000-json_keystext+title"])
        #expect(sweep.points[0].spec.values.value("train.warmup_tokens") == nil)
        #expect(sweep.points[1].spec.values.int("train.warmup_tokens") == 1000)
        #expect(sweep.points[2].spec.values.strings("data.json_keys") == ["text", "title"])
        #expect(sweep.points[2].assignments[1] == SweepAssignment(key: "data.json_keys", value: "[\"text\", \"title\"]"))
    }

    @Test func theBriefsExampleOverTheBundledQuickstart() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        let quickstart = configsDirectory.appendingPathComponent("quickstart.yaml").path
        try dir.write("quickstart-grid.yaml", """
            extends: \(quickstart)
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
              exclude:
                - {moe.num_experts: 4, moe.top_k: 2}
                - {train.lr: [1.0e-3], moe.top_k: 1}

            """)
        let sweep = try SweepSpec.load(file: dir.url.appendingPathComponent("quickstart-grid.yaml").path)
        var names: [String] = []
        for experts in [4, 8] { for k in [1, 2] { for lr in ["0.001", "0.003"] {
            if (experts == 4 && k == 2) || (lr == "0.001" && k == 1) { continue }
            names.append("e\(experts)-k\(k)-lr\(lr)")
        } } }
        #expect(sweep.points.map(\.name) == names)
        #expect(sweep.excludedCount == 8 - names.count)
        #expect(sweep.outputDirectory == "runs/quickstart-grid")
        #expect(sweep.files.count == 3)
        #expect(sweep.points.allSatisfy { $0.spec.values.int("train.iters") == 60 && $0.spec.values.int("model.hidden") == 64 })
    }
}
