import Foundation
import Testing
@testable import XMoESpec

@Suite struct SpecResolutionTests {
    @Test func emptySpecIsAllDefaultsAndNamedAfterItsFile() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.write("tiny.yaml", "")
        let spec = try dir.load("tiny.yaml")
        #expect(spec.name == "tiny")
        #expect(spec.values.int("model.hidden") == 128)
        // Derived defaults follow the keys they are derived from.
        #expect(spec.values.int("model.ffn_hidden") == 4 * 128)
        #expect(spec.values.int("parallel.world_size") == 1)
        #expect(spec.values.value("data.input") == nil)
        // Every key of the schema is present in the resolved YAML, null or not.
        for key in SpecSchema.keys {
            let name = key.path.split(separator: ".").last!
            #expect(spec.canonicalYAML.contains("\(name): "), "missing \(key.path)")
        }
    }

    @Test func derivedDefaultsSeeFinalValues() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.write("s.yaml", "parallel:\n  dp: 4\n  tp: 2\n  ep: 8\nmoe:\n  num_experts: 16\ntrain:\n  micro_batch: 3\nmodel:\n  hidden: 256\n  heads: 8\n")
        let spec = try dir.load("s.yaml", ["model.hidden=512"])
        #expect(spec.values.int("parallel.world_size") == 8)
        #expect(spec.values.int("train.global_batch") == 12)
        #expect(spec.values.int("model.ffn_hidden") == 2048)
    }

    @Test func extendsChainLaterFileWins() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try FileManager.default.createDirectory(at: dir.url.appendingPathComponent("base"), withIntermediateDirectories: true)
        try dir.write("base/root.yaml", "model:\n  hidden: 64\n  layers: 3\nmoe:\n  top_k: 1\n")
        try dir.write("base/mid.yaml", "extends: root.yaml\nmodel:\n  layers: 5\n")
        try dir.write("leaf.yaml", "model:\n  heads: 2\nextends: base/mid.yaml\n")
        let spec = try dir.load("leaf.yaml")
        #expect(spec.values.int("model.hidden") == 64)
        #expect(spec.values.int("model.layers") == 5)
        #expect(spec.values.int("model.heads") == 2)
        #expect(spec.values.int("moe.top_k") == 1)
        #expect(spec.files.count == 3)
        // The location of a value is the file that set it last.
        guard case let .file(path, line, column) = spec.values.location("model.layers") else {
            Issue.record("no file location")
            return
        }
        #expect(path.hasSuffix("base/mid.yaml") && line == 3 && column == 3)
    }

    @Test func nullResetsToTheDefault() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.write("base.yaml", "data:\n  input: corpus.jsonl\nmodel:\n  hidden: 64\n")
        try dir.write("leaf.yaml", "extends: base.yaml\ndata:\n  input: null\n  prefix: prepared_text_document\nmodel:\n  hidden: ~\n")
        let spec = try dir.load("leaf.yaml")
        #expect(spec.values.value("data.input") == nil)
        #expect(spec.values.string("data.prefix") == "prepared_text_document")
        #expect(spec.values.int("model.hidden") == 128)
    }

    @Test func overridesAreTypedLikeFileValues() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.write("s.yaml", "moe:\n  num_experts: 16\n")
        let spec = try dir.load("s.yaml", ["moe.num_experts=32", "train.lr=3e-4", "parallel.dp=4", "parallel.ep=4",
                                           "data.json_keys=[text, title]", "moe.drop_tokens=false", "name=my run",
                                           "train.decay_tokens=300e9", "train.warmup_tokens=375_000_000"])
        #expect(spec.values.int("moe.num_experts") == 32)
        #expect(spec.values.float("train.lr") == 3e-4)
        #expect(spec.values.int("parallel.ep") == 4)
        #expect(spec.values.strings("data.json_keys") == ["text", "title"])
        #expect(spec.values.bool("moe.drop_tokens") == false)
        #expect(spec.name == "my run")
        #expect(spec.values.int("train.decay_tokens") == 300_000_000_000)
        #expect(spec.values.int("train.warmup_tokens") == 375_000_000)
        #expect(spec.values.location("moe.num_experts") == .override(index: 1, text: "moe.num_experts=32"))
        // A later override of the same key wins.
        let twice = try dir.load("s.yaml", ["moe.top_k=2", "moe.top_k=3"])
        #expect(twice.values.int("moe.top_k") == 3)
    }

    @Test func everyMistakeIsReportedInOnePass() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.write("s.yaml", "model:\n  hiden: 1\n  heads: x\ntrain:\n  lr: -1\n")
        let errors = dir.errors("s.yaml", ["moe.topk=3"])
        #expect(errors.map(\.keyPath) == ["model.hiden", "model.heads", "train.lr", "moe.topk"])
        #expect(errors.last?.message.contains("did you mean 'moe.top_k'?") == true)
    }
}
