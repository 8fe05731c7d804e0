/// Every key an experiment spec may hold. Order matters twice: it is the order of
/// `xmoe config` output and the README, and a derived default may only read keys above it.
public enum SpecSchema {
    public static let sections = ["data", "model", "moe", "parallel", "train", "output"]

    /// Keys that live at the top level, outside any section.
    public static let topLevel = ["name", "seed"]

    public static let keys: [SpecKey] = [
        SpecKey("name", .string(nonEmpty: true), .derived("the spec file's name", { _ in nil }),
                "Experiment name; the run directory is `output.dir/name`."),
        SpecKey("seed", .int(min: 0, max: Int(UInt32.max)), .int(1234),
                "Seed of every random stream (init, data order, dropout, RBD pilots)."),

        // data
        SpecKey("data.input", .string(nonEmpty: true), .none,
                "JSON-lines corpus (`.jsonl` or `.jsonl.gz`) to tokenize. Exactly one of `data.input` and `data.prefix`."),
        SpecKey("data.prefix", .string(nonEmpty: true), .none,
                "An existing Megatron indexed dataset (`PREFIX.bin`/`PREFIX.idx`) to train on instead of `data.input`."),
        SpecKey("data.json_keys", .stringList(nonEmpty: true), .value(.list([.string("text")])),
                "JSON keys whose strings are tokenized, each into its own dataset (Megatron `--json-keys`)."),
        SpecKey("data.append_eod", .bool, .bool(false),
                "Append the end-of-document token (50256) to every document (Megatron `--append-eod`)."),
        SpecKey("data.tokenizer", .choice(["gpt2"]), .string("gpt2"), "Tokenizer: GPT-2 byte-level BPE."),
        SpecKey("data.vocab_file", .string(nonEmpty: true), .string("data/gpt2/vocab.json"),
                "GPT-2 `vocab.json` (`encoder.json`)."),
        SpecKey("data.merge_file", .string(nonEmpty: true), .string("data/gpt2/merges.txt"),
                "GPT-2 `merges.txt` (`vocab.bpe`)."),
        SpecKey("data.workers", .int(min: 1, max: 1024), .int(2), "Tokenizer worker threads for data preparation."),
        SpecKey("data.skip_bad_lines", .bool, .bool(false),
                "Skip malformed JSON lines, missing keys and invalid UTF-8 (counted and reported) instead of failing."),
        SpecKey("data.split", .string(nonEmpty: true), .string("98,2,0"),
                "Train/validation/test split weights over documents, as Megatron's `--split`."),

        // model
        SpecKey("model.layers", .int(min: 1, max: 1024), .int(2), "Transformer layers."),
        SpecKey("model.hidden", .int(min: 1, max: 1 << 20), .int(128), "Hidden size H."),
        SpecKey("model.heads", .int(min: 1, max: 4096), .int(4), "Attention heads; H must be divisible by them."),
        SpecKey("model.ffn_hidden", .int(min: 1, max: 1 << 22),
                .derived("4·model.hidden", { .int(4 * ($0.int("model.hidden") ?? 0)) }),
                "FFN width F of the dense layers."),
        SpecKey("model.seq_length", .int(min: 2, max: 1 << 20), .int(256), "Sequence length S in tokens."),
        SpecKey("model.vocab_size", .int(min: 2, max: 1 << 24), .int(50257), "Tokenizer vocabulary size (GPT-2: 50257)."),
        SpecKey("model.vocab_multiple", .int(min: 1, max: 1 << 16), .int(128),
                "The embedding is padded to a multiple of this times `parallel.tp` (Megatron: 50257 → 50304)."),
        SpecKey("model.first_dense_layers", .int(min: 0, max: 1024), .int(0),
                "Leading layers with a dense FFN instead of an MoE block (DeepSeek: 1; X-MoE: 0)."),
        SpecKey("model.norm", .choice(["layernorm", "rmsnorm"]), .string("layernorm"), "Normalisation of the pre-norm blocks."),
        SpecKey("model.norm_eps", .float(min: 0, max: 1, minInclusive: false), .float(1e-5), "Normalisation epsilon."),
        SpecKey("model.activation", .choice(["gelu", "swiglu"]), .string("gelu"),
                "Dense FFN activation: GELU (tanh approximation, 2 matrices) or SwiGLU (3 matrices)."),
        SpecKey("model.linear_bias", .bool, .bool(true), "Biases in attention and dense FFN linears."),
        SpecKey("model.tied_embeddings", .bool, .bool(true), "Share the input embedding with the output projection."),
        SpecKey("model.rope_theta", .float(min: 1, max: .infinity), .float(10000), "RoPE base frequency."),
        SpecKey("model.init_std", .float(min: 0, max: 1, minInclusive: false), .float(0.02),
                "Std of the normal initialisation (X-MoE scripts: 0.014); output projections get std/√(2·layers), as in Megatron."),
        SpecKey("model.dropout", .float(min: 0, max: 1), .float(0),
                "Hidden dropout: on the embedding output and on each attention and FFN/MoE output before its residual add (Megatron default 0.1). Masks derive from (seed, step, micro-step), so a resume is bit-exact; evaluation runs without."),
        SpecKey("model.attention_dropout", .float(min: 0, max: 1), .float(0),
                "Dropout on the attention probabilities (Megatron default 0.1)."),

        // moe
        SpecKey("moe.num_experts", .int(min: 1, max: 1 << 16), .int(8), "Routed experts E per MoE layer."),
        SpecKey("moe.top_k", .int(min: 1, max: 1 << 16), .int(2), "Experts K chosen per token."),
        SpecKey("moe.expert_ffn_hidden", .int(min: 1, max: 1 << 22), .int(256), "FFN width of one expert."),
        SpecKey("moe.expert_activation", .choice(["gelu", "swiglu"]), .string("gelu"),
                "Expert MLP: GELU with 2 matrices (X-MoE) or SwiGLU with 3 (DeepSeek)."),
        SpecKey("moe.expert_bias", .bool, .bool(true), "Biases in the expert linears (X-MoE: yes; DeepSeek: no)."),
        SpecKey("moe.num_shared_experts", .int(min: 0, max: 64), .int(0), "Shared experts applied to every token."),
        SpecKey("moe.shared_expert_ffn_hidden", .int(min: 1, max: 1 << 22),
                .derived("moe.expert_ffn_hidden", { $0.value("moe.expert_ffn_hidden") }),
                "FFN width of one shared expert."),
        SpecKey("moe.gating", .choice(["softmax_topk", "softmax_topk_renorm", "topk_logits", "sigmoid_bias"]),
                .string("softmax_topk"),
                "Router: softmax→top-k (X-MoE paper), softmax→top-k→renormalise (DeepSpeed), top-k of raw logits (released X-MoE code), sigmoid + per-expert bias (DeepSeek-V3, aux-loss-free)."),
        SpecKey("moe.drop_tokens", .bool, .bool(true),
                "Drop slots over capacity (highest-weight slots kept per expert); false is dropless."),
        SpecKey("moe.capacity_factor", .float(min: 0, max: 1024, minInclusive: false), .float(1.25),
                "Training capacity factor c: capacity = max(min_capacity, ceil(T·K·c/E))."),
        SpecKey("moe.eval_capacity_factor", .float(min: 0, max: 1024, minInclusive: false), .float(1.0),
                "Capacity factor during evaluation."),
        SpecKey("moe.min_capacity", .int(min: 0, max: Int.max), .int(4), "Floor of the per-expert capacity."),
        SpecKey("moe.aux_loss_coeff", .float(min: 0, max: 1e3), .float(0.01),
                "Load-balancing loss coefficient (loss E/K·Σ_e me_e·ce_e)."),
        SpecKey("moe.z_loss_coeff", .float(min: 0, max: 1e3), .float(0), "Router z-loss coefficient."),
        SpecKey("moe.bias_update_rate", .float(min: 0, max: 1), .float(0.001),
                "Per-step update of the expert bias for `sigmoid_bias` gating."),
        SpecKey("moe.dispatcher", .choice(["local", "padded", "pft", "rbd"]), .string("pft"),
                "Token dispatcher: local (EP = 1), padded (DeepSpeed baseline), pft (padding-free), rbd (redundancy-bypassing)."),

        // parallel
        SpecKey("parallel.dp", .int(min: 1, max: 1 << 20), .int(1), "Data-parallel size."),
        SpecKey("parallel.tp", .int(min: 1, max: 1024), .int(1),
                "Tensor-parallel size; with TP > 1 the MoE blocks are sequence-sharded (SSMB)."),
        SpecKey("parallel.ep", .int(min: 1, max: 1 << 16), .int(1), "Expert-parallel size; divides the world size."),
        SpecKey("parallel.world_size", .int(min: 1, max: 1 << 20),
                .derived("dp·tp", { .int(($0.int("parallel.dp") ?? 1) * ($0.int("parallel.tp") ?? 1)) }),
                "Ranks in all; must equal dp·tp."),
        SpecKey("parallel.ranks_per_node", .int(min: 1, max: 1 << 20),
                .derived("parallel.world_size", { $0.value("parallel.world_size") }),
                "Ranks grouped into one node, for hierarchical dispatch and intra/inter-node byte counts."),
        SpecKey("parallel.zero_stage", .int(min: 0, max: 1), .int(0),
                "0: replicated optimizer state; 1: optimizer state sharded over data-parallel ranks."),

        // train
        SpecKey("train.micro_batch", .int(min: 1, max: 1 << 20), .int(4), "Sequences per rank per micro-step."),
        SpecKey("train.global_batch", .int(min: 1, max: 1 << 30),
                .derived("micro_batch·dp", {
                    .int(($0.int("train.micro_batch") ?? 1) * ($0.int("parallel.dp") ?? 1))
                }),
                "Sequences per optimizer step; gradients are accumulated over global/(micro·dp) micro-steps."),
        SpecKey("train.iters", .int(min: 1, max: Int.max), .int(100), "Optimizer steps."),
        SpecKey("train.lr", .float(min: 0, max: 10), .float(3e-4), "Peak learning rate."),
        SpecKey("train.min_lr", .float(min: 0, max: 10), .float(0), "Learning rate at the end of decay."),
        SpecKey("train.lr_schedule", .choice(["cosine", "linear", "constant"]), .string("cosine"),
                "Decay after warm-up."),
        SpecKey("train.warmup_iters", .int(min: 0, max: Int.max), .int(0),
                "Linear warm-up length in steps (or use `train.warmup_tokens`)."),
        SpecKey("train.warmup_tokens", .int(min: 0, max: Int.max), .none,
                "Warm-up length in tokens; replaces `train.warmup_iters` when set."),
        SpecKey("train.decay_tokens", .int(min: 1, max: Int.max), .none,
                "Decay length in tokens (X-MoE: 300e9); by default decay ends at `train.iters`."),
        SpecKey("train.adam_beta1", .float(min: 0, max: 1, minInclusive: true), .float(0.9), "AdamW β1."),
        SpecKey("train.adam_beta2", .float(min: 0, max: 1, minInclusive: true), .float(0.95), "AdamW β2."),
        SpecKey("train.adam_eps", .float(min: 0, max: 1, minInclusive: false), .float(1e-8), "AdamW ε."),
        SpecKey("train.weight_decay", .float(min: 0, max: 10), .float(0.1),
                "Decoupled weight decay (not applied to norms and biases)."),
        SpecKey("train.clip_grad", .float(min: 0, max: 1e6), .float(1.0), "Clip the global gradient norm to this; 0 disables."),
        SpecKey("train.eval_interval", .int(min: 0, max: Int.max), .int(50), "Evaluate every N steps; 0 disables."),
        SpecKey("train.eval_iters", .int(min: 1, max: Int.max), .int(4), "Validation micro-batches per evaluation."),
        SpecKey("train.save_interval", .int(min: 0, max: Int.max), .int(50), "Checkpoint every N steps; 0 saves only at the end."),
        SpecKey("train.log_interval", .int(min: 1, max: Int.max), .int(1), "Print progress every N steps."),
        SpecKey("train.nan_policy", .choice(["skip", "stop"]), .string("stop"),
                "On a NaN/Inf loss or gradient: skip the step (reported) or stop with an error."),
        SpecKey("train.threads", .int(min: 0, max: 1024), .int(0), "CPU threads per rank; 0 uses all cores divided by the local ranks."),
        SpecKey("train.device", .choice(["cpu", "cuda"]), .string("cpu"),
                "Where training runs: cpu, or cuda (one NVIDIA GPU; one rank for now). Checkpoints hold fp32 masters, so a run continues on either."),
        SpecKey("train.precision", .choice(["auto", "fp32", "bf16"]), .string("auto"),
                "Compute precision. auto: bf16 on cuda, fp32 on cpu. bf16: bf16 GEMM operands with fp32 accumulation, "
                + "fp32 master weights, gradients, AdamW moments, router, norms and loss (on cpu it emulates the GPU's "
                + "numerics and is slower than fp32). Checkpoints hold fp32 masters, so changing it continues a run."),

        // output
        SpecKey("output.dir", .string(nonEmpty: true), .string("runs"), "Directory holding run directories."),
        SpecKey("output.cache_dir", .string(nonEmpty: true),
                .derived("output.dir/cache", { .string(($0.string("output.dir") ?? "runs") + "/cache") }),
                "Content-addressed cache of shared steps (prepared data), reused by every run and sweep point with the same inputs."),
        SpecKey("output.keep_checkpoints", .int(min: 0, max: Int.max), .int(3), "Newest checkpoints kept; 0 keeps all."),
        SpecKey("output.tensorboard", .bool, .bool(true),
                "Write TensorBoard event files (loss, lr, throughput, expert load) into the run's `tensorboard/` folder."),
    ]

    public static let byPath: [String: SpecKey] = Dictionary(uniqueKeysWithValues: keys.map { ($0.path, $0) })

    public static func keys(inSection section: String) -> [SpecKey] {
        keys.filter { $0.section == section }
    }
}
