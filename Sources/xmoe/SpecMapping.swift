import XMoEModel
import XMoEParallel
import XMoESpec

/// Turns a resolved spec into the configuration types of the lower layers, which know nothing of specs.
extension ExperimentSpec {
    var modelConfig: ModelConfig {
        let v = values
        return ModelConfig(
            layers: v.int("model.layers")!, hidden: v.int("model.hidden")!, heads: v.int("model.heads")!,
            ffnHidden: v.int("model.ffn_hidden")!, seqLength: v.int("model.seq_length")!,
            vocabSize: v.int("model.vocab_size")!,
            paddedVocab: ModelConfig.paddedVocab(v.int("model.vocab_size")!, multiple: v.int("model.vocab_multiple")!,
                                                 tp: v.int("parallel.tp")!),
            firstDenseLayers: v.int("model.first_dense_layers")!,
            norm: ModelConfig.Norm(rawValue: v.string("model.norm")!)!,
            activation: ModelConfig.Activation(rawValue: v.string("model.activation")!)!,
            linearBias: v.bool("model.linear_bias")!, tiedEmbeddings: v.bool("model.tied_embeddings")!,
            numExperts: v.int("moe.num_experts")!, topK: v.int("moe.top_k")!,
            expertFFNHidden: v.int("moe.expert_ffn_hidden")!,
            expertActivation: ModelConfig.Activation(rawValue: v.string("moe.expert_activation")!)!,
            expertBias: v.bool("moe.expert_bias")!, numSharedExperts: v.int("moe.num_shared_experts")!,
            sharedExpertFFNHidden: v.int("moe.shared_expert_ffn_hidden")!)
    }

    var layoutPlan: LayoutPlan {
        let v = values
        var plan = LayoutPlan(
            sizes: .init(dp: v.int("parallel.dp")!, tp: v.int("parallel.tp")!, ep: v.int("parallel.ep")!,
                         ranksPerNode: v.int("parallel.ranks_per_node")!, zeroStage: v.int("parallel.zero_stage")!,
                         microBatch: v.int("train.micro_batch")!, globalBatch: v.int("train.global_batch")!),
            model: ModelSize(modelConfig), capacityFactor: v.float("moe.capacity_factor")!,
            minCapacity: v.int("moe.min_capacity")!, dropTokens: v.bool("moe.drop_tokens")!)
        plan.cpuPrecision = .cpu(bf16: TrainDevice.precision(self) == "bf16", hiddenDropout: v.float("model.dropout")!,
                                 attentionDropout: v.float("model.attention_dropout")!)
        return plan
    }
}
