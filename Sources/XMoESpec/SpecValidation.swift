import Foundation

/// Rules that relate several keys. Each failure names the key most likely at fault: the first
/// of the rule's keys that the user set (a default is never blamed over an explicit value).
enum SpecValidation {
    static func check(_ v: ResolvedValues) -> [SpecError] {
        var errors: [SpecError] = []

        func fail(_ keys: [String], _ message: String) {
            let blamed = keys.first(where: { v.location($0) != .defaultValue }) ?? keys[0]
            let others = keys.filter { $0 != blamed }.map { "\($0) = \(v.value($0)?.display ?? "unset") at \(v.location($0))" }
            let context = others.isEmpty ? "" : " [" + others.joined(separator: "; ") + "]"
            errors.append(SpecError(message + context, at: v.location(blamed), key: blamed))
        }
        func int(_ path: String) -> Int { v.int(path)! }

        // data
        let hasInput = v.value("data.input") != nil, hasPrefix = v.value("data.prefix") != nil
        if hasInput && hasPrefix {
            fail(["data.prefix", "data.input"], "set either data.input (a corpus to tokenize) or data.prefix (prepared data), not both")
        }
        if let split = v.string("data.split"), let problem = splitProblem(split) {
            fail(["data.split"], problem)
        }

        // model
        let hidden = int("model.hidden"), heads = int("model.heads")
        if hidden % heads != 0 {
            fail(["model.heads", "model.hidden"], "model.hidden (\(hidden)) must be divisible by model.heads (\(heads))")
        } else if (hidden / heads) % 2 != 0 {
            fail(["model.heads", "model.hidden"], "the head dimension hidden/heads = \(hidden / heads) must be even for RoPE")
        }
        if int("model.first_dense_layers") > int("model.layers") {
            fail(["model.first_dense_layers", "model.layers"],
                 "model.first_dense_layers (\(int("model.first_dense_layers"))) exceeds model.layers (\(int("model.layers")))")
        }

        // moe
        let experts = int("moe.num_experts"), topK = int("moe.top_k")
        if topK > experts {
            fail(["moe.top_k", "moe.num_experts"], "moe.top_k (\(topK)) must not exceed moe.num_experts (\(experts))")
        }

        // parallel
        let dp = int("parallel.dp"), tp = int("parallel.tp"), ep = int("parallel.ep")
        let world = int("parallel.world_size")
        if world != dp * tp {
            fail(["parallel.world_size", "parallel.dp", "parallel.tp"],
                 "parallel.world_size (\(world)) must equal dp·tp = \(dp)·\(tp) = \(dp * tp)")
        }
        if experts % ep != 0 {
            fail(["parallel.ep", "moe.num_experts"], "moe.num_experts (\(experts)) must be divisible by parallel.ep (\(ep))")
        }
        if world % ep != 0 {
            fail(["parallel.ep", "parallel.world_size"], "parallel.ep (\(ep)) must divide the world size (\(world))")
        }
        if ep > 1 && v.string("moe.dispatcher") == "local" {
            fail(["moe.dispatcher", "parallel.ep"], "the local dispatcher needs parallel.ep = 1 (got \(ep)); use pft, padded or rbd")
        }
        let perNode = int("parallel.ranks_per_node")
        if world % perNode != 0 {
            fail(["parallel.ranks_per_node", "parallel.world_size"],
                 "parallel.ranks_per_node (\(perNode)) must divide the world size (\(world))")
        }
        if heads % tp != 0 {
            fail(["parallel.tp", "model.heads"], "model.heads (\(heads)) must be divisible by parallel.tp (\(tp))")
        }
        if tp > 1 && int("model.ffn_hidden") % tp != 0 {
            fail(["parallel.tp", "model.ffn_hidden"], "model.ffn_hidden (\(int("model.ffn_hidden"))) must be divisible by parallel.tp (\(tp))")
        }

        // train
        let micro = int("train.micro_batch"), global = int("train.global_batch")
        if global % (micro * dp) != 0 {
            fail(["train.global_batch", "train.micro_batch", "parallel.dp"],
                 "train.global_batch (\(global)) must be divisible by micro_batch·dp = \(micro)·\(dp) = \(micro * dp)")
        }
        if v.float("train.min_lr")! > v.float("train.lr")! {
            fail(["train.min_lr", "train.lr"], "train.min_lr must not exceed train.lr")
        }
        if int("train.warmup_iters") > int("train.iters") {
            fail(["train.warmup_iters", "train.iters"],
                 "train.warmup_iters (\(int("train.warmup_iters"))) exceeds train.iters (\(int("train.iters")))")
        }
        if v.value("train.warmup_tokens") != nil && int("train.warmup_iters") != 0 {
            fail(["train.warmup_tokens", "train.warmup_iters"], "set either train.warmup_iters or train.warmup_tokens, not both")
        }
        return errors
    }

    /// Megatron's split string: 1 to 3 non-negative numbers separated by commas (or slashes), not all zero.
    static func splitProblem(_ split: String) -> String? {
        let separator: Character = split.contains("/") ? "/" : ","
        let parts = split.split(separator: separator, omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard (1...3).contains(parts.count) else { return "'\(split)' must have 1 to 3 weights, like \"98,2,0\"" }
        let weights = parts.compactMap(Double.init)
        guard weights.count == parts.count, weights.allSatisfy({ $0 >= 0 && $0.isFinite }) else {
            return "'\(split)' must be non-negative numbers separated by commas, like \"98,2,0\""
        }
        if weights.reduce(0, +) <= 0 { return "'\(split)' weights must not all be zero" }
        return nil
    }
}
