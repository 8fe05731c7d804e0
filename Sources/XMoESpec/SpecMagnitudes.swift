import Foundation

/// Products of spec values that the engine computes in 64-bit integers: parameter counts, the
/// activations of a micro-batch, the tokens and samples of a whole run. Every key is range-checked
/// on its own, but products of in-range values can still overflow (`train.iters` at its maximum
/// times any batch) and trap. This rule bounds each product, computed here in floating point
/// (which cannot trap), by 2^53 — far beyond any trainable run, and small enough that the integer
/// arithmetic of the plan, the layout, the model size, the LR schedule and the sample counts
/// (at most a small constant times these products) never overflows.
///
/// The estimates are upper bounds of the formulas in `ModelSize`, `LayoutPlan` and the train step
/// (every MLP counted as SwiGLU with biases, the vocabulary padded by a whole multiple).
enum SpecMagnitudes {
    static let limit = 9_007_199_254_740_992.0  // 2^53

    struct Problem {
        var keys: [String]
        var message: String
    }

    static func problems(_ v: ResolvedValues) -> [Problem] {
        func d(_ path: String) -> Double { Double(v.int(path) ?? 0) }
        var problems: [Problem] = []
        func check(_ value: Double, _ what: String, _ keys: [String], _ advice: String) {
            guard !(value <= limit) else { return }  // also catches NaN
            let amount = String(format: "%.3g", value)
            problems.append(Problem(keys: keys, message: "\(what) would be about \(amount), more than the 2^53 (≈ 9.0e15) "
                                    + "that xmoe counts exactly; \(advice)"))
        }

        let h = d("model.hidden"), layers = d("model.layers"), heads = d("model.heads")
        let dense = d("model.first_dense_layers"), moeLayers = max(layers - dense, 0)
        let f = d("model.ffn_hidden"), experts = d("moe.num_experts"), topK = d("moe.top_k")
        let fe = d("moe.expert_ffn_hidden"), shared = d("moe.num_shared_experts"), fs = d("moe.shared_expert_ffn_hidden")
        let vocab = d("model.vocab_size") + d("model.vocab_multiple") * d("parallel.tp")
        let seq = d("model.seq_length"), micro = d("train.micro_batch"), global = d("train.global_batch")

        func mlp(_ width: Double) -> Double { 3 * h * width + 2 * width + h }
        let parameters = layers * (4 * h * h + 8 * h) + dense * mlp(f)
            + moeLayers * (experts * mlp(fe) + shared * mlp(fs) + h * experts) + 2 * vocab * h + 2 * h
        check(parameters, "the parameter count",
              ["moe.num_experts", "moe.expert_ffn_hidden", "model.hidden", "model.layers", "model.ffn_hidden"],
              "lower model.layers, model.hidden, moe.num_experts or the FFN widths")

        let tokens = micro * seq
        let activations = layers * (16 * tokens * h + micro * heads * seq * seq)
            + moeLayers * (tokens * topK * (2 * h + 3 * fe) + tokens * shared * (h + 3 * fs))
            + dense * tokens * (h + 3 * f) + 2 * tokens * vocab
        check(activations, "the activations of one micro-batch (in values)",
              ["train.micro_batch", "model.seq_length", "model.hidden", "model.layers", "moe.top_k"],
              "lower train.micro_batch or model.seq_length")

        check(d("train.iters") * global * seq, "the tokens of the whole run (train.iters·global_batch·seq_length)",
              ["train.iters", "train.global_batch", "model.seq_length"], "lower train.iters")
        check(d("train.eval_iters") * micro * seq, "the tokens of one evaluation (train.eval_iters·micro_batch·seq_length)",
              ["train.eval_iters", "train.micro_batch", "model.seq_length"], "lower train.eval_iters")
        return problems
    }
}
