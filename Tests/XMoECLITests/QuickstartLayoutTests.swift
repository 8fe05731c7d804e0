import Foundation
import Testing

/// The bundled quickstart trains 8 sequences a step on any of 1, 2 or 4 data-parallel ranks (its
/// `train.global_batch` is fixed, not left to micro_batch·dp), so a layout change is a continuation:
/// trained on 4 ranks (dp 4, ep 4, pft) it continues on 2 (dp 2, ep 2) from its newest checkpoint,
/// as issue 9 asks of a new user's first multi-rank run. A tiny model with the quickstart's batch keys.
@Suite(.serialized) struct QuickstartLayoutTests {
    static let tiny = ["model.hidden=32", "model.heads=2", "model.ffn_hidden=64", "model.seq_length=16",
                       "moe.expert_ffn_hidden=32", "train.warmup_iters=1", "train.eval_interval=0",
                       "train.save_interval=2", "train.threads=1", "data.workers=1", "moe.dispatcher=pft"]

    @Test func fourRanksThenTwoRanksIsOneRun() throws {
        let dir = try MultiRankRunTests().setUp()
        defer { dir.cleanup() }
        let four = try XMoEBinary.run(["run", "exp.yaml", "train.iters=2", "parallel.dp=4", "parallel.ep=4"] + Self.tiny, in: dir.url)
        #expect(four.status == 0, "\(four.stdout)\n\(four.stderr)")

        let two = try XMoEBinary.run(["run", "exp.yaml", "train.iters=4", "parallel.dp=2", "parallel.ep=2"] + Self.tiny, in: dir.url)
        #expect(two.status == 0, "\(two.stdout)\n\(two.stderr)")
        let output = two.stdout + two.stderr
        #expect(output.contains("train: ran — continues from step 2"), "\(output)")
        #expect(output.contains("resumed from the checkpoint of step 2"), "\(output)")
        let archived = FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("runs/tiny/archive").path)
        #expect(!archived, "the layout change started a new run")

        // Every step, on either layout, routed 8 sequences × 16 tokens × top-2 slots (globally reduced).
        let load = try MultiRankRunTests().series(dir.url.appendingPathComponent("runs/tiny/metrics.h5"), "/moe/layer_01/tokens_per_expert")
        let slots = load.map { $0.reduce(0, +) }
        #expect(slots == [256, 256, 256, 256], "\(load)")
    }
}
