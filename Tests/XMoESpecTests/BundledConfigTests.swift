import Foundation
import Testing
@testable import XMoESpec

@Suite struct BundledConfigTests {
    static let configFiles: [String] = {
        let enumerator = FileManager.default.enumerator(atPath: configsDirectory.path)
        return (enumerator?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".yaml") && !$0.hasPrefix("sweeps/") }.sorted()
    }()

    @Test func configsExist() {
        #expect(Self.configFiles.contains("quickstart.yaml"))
        #expect(Self.configFiles.contains("small-10b.yaml"))
        #expect(Self.configFiles.contains("presets/xmoe-paper.yaml"))
        #expect(Self.configFiles.contains("presets/deepseek.yaml"))
    }

    @Test(arguments: configFiles)
    func decodesAndValidates(file: String) throws {
        _ = try ExperimentSpec.load(file: configsDirectory.appendingPathComponent(file).path)
    }

    /// X-MoE Small exactly as `n8-Small-XMoE.slurm` builds it (reference notes §1.2–1.3).
    @Test func small10bMatchesThePaperScripts() throws {
        let v = try ExperimentSpec.load(file: configsDirectory.appendingPathComponent("small-10b.yaml").path).values
        #expect(v.int("model.layers") == 28)
        #expect(v.int("model.hidden") == 2048)
        #expect(v.int("model.heads") == 16)
        #expect(v.int("model.seq_length") == 2048)
        #expect(v.int("model.vocab_size") == 50257)
        #expect(v.int("model.vocab_multiple") == 128)
        #expect(v.int("model.first_dense_layers") == 0)
        #expect(v.string("model.norm") == "layernorm")
        #expect(v.float("model.norm_eps") == 1e-5)
        #expect(v.bool("model.tied_embeddings") == true)
        #expect(v.float("model.init_std") == 0.014)
        #expect(v.float("model.dropout") == 0.1)
        #expect(v.int("moe.num_experts") == 64)
        #expect(v.int("moe.top_k") == 6)
        #expect(v.int("moe.expert_ffn_hidden") == 1408)
        #expect(v.string("moe.expert_activation") == "gelu")
        #expect(v.bool("moe.expert_bias") == true)
        #expect(v.int("moe.num_shared_experts") == 0)
        #expect(v.float("moe.capacity_factor") == 1.25)
        #expect(v.int("moe.min_capacity") == 4)
        #expect(v.float("moe.aux_loss_coeff") == 0.01)
        #expect(v.bool("moe.drop_tokens") == true)
        #expect(v.float("train.adam_beta1") == 0.9)
        #expect(v.float("train.adam_beta2") == 0.95)
        #expect(v.float("train.lr") == 1.2e-4)
        #expect(v.float("train.min_lr") == 1e-6)
        #expect(v.string("train.lr_schedule") == "cosine")
        #expect(v.float("train.weight_decay") == 0.1)
        #expect(v.float("train.clip_grad") == 1.0)
        #expect(v.int("train.warmup_tokens") == 375_000_000)
        #expect(v.int("train.decay_tokens") == 300_000_000_000)
        #expect(v.int("parallel.ep") == 8)
        #expect(v.int("parallel.zero_stage") == 1)
        #expect(v.int("train.micro_batch") == 4)
        #expect(v.int("train.global_batch") == 256)
        #expect(v.string("data.split") == "98,2,0")
    }
}
