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

        if let name = v.string("name"), let problem = runNameProblem(name) {
            fail(["name"], problem)
        }

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
        for magnitude in SpecMagnitudes.problems(v) { fail(magnitude.keys, magnitude.message) }
        return errors
    }

    /// Megatron's split string: 1 to 3 non-negative weights separated by commas (or slashes), the
    /// first (train) above zero. megatron-core reads the weights with `re.findall(r"[.0-9]+")`, so only
    /// plain decimals mean what they say: `1e308` would read as the two weights 1 and 308.
    static func splitProblem(_ split: String) -> String? {
        let separator: Character = split.contains("/") ? "/" : ","
        let parts = split.split(separator: separator, omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard (1...3).contains(parts.count) else { return "'\(split)' must have 1 to 3 weights, like \"98,2,0\"" }
        for part in parts where part.isEmpty || !part.allSatisfy({ $0 == "." || ($0.isASCII && $0.isNumber) })
            || part.filter({ $0 == "." }).count > 1 || part == "." {
            return "'\(split)': '\(part)' is not a plain decimal weight (digits and at most one '.', as Megatron reads them); "
                + "write non-negative numbers like \"98,2,0\""
        }
        let weights = parts.compactMap(Double.init)
        guard weights.count == parts.count else {
            return "'\(split)' must be non-negative numbers separated by commas, like \"98,2,0\""
        }
        if let huge = parts.first(where: { !(Double($0)?.isFinite ?? false) }) {
            return "'\(split)': '\(huge.prefix(24))…' is too large a weight; only the ratios matter, write them like \"98,2,0\""
        }
        let total = weights.reduce(0, +)
        guard total.isFinite else { return "'\(split)': the weights are too large to add up; use smaller numbers, like \"98,2,0\"" }
        if total <= 0 { return "'\(split)' weights must not all be zero" }
        if weights[0] <= 0 {
            return "'\(split)' leaves no training documents: the first (train) weight must be above zero, like \"98,2,0\""
        }
        return nil
    }

    /// The longest file name Linux and macOS file systems take (NAME_MAX).
    static let maximumNameBytes = 255

    /// The run directory is `output.dir/name`: a name must be one directory entry inside `output.dir`.
    static func runNameProblem(_ name: String) -> String? {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return "the run name is empty after trimming white space; give a name like \"my-run\"" }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "the run name \(SpecValue.quoted(name)) holds a control character (NUL, newline, …); use a plain name like \"my-run\""
        }
        if name.contains("/") {
            return "the run name '\(name)' holds a '/': the run directory must be a single name inside output.dir "
                + "(set output.dir to choose where runs go)"
        }
        if trimmed == "." || trimmed == ".." {
            return "the run name '\(name)' would put the run into output.dir itself or its parent; use a plain name like \"my-run\""
        }
        if name.utf8.count > maximumNameBytes {
            return "the run name is \(name.utf8.count) bytes long; a directory name may have at most \(maximumNameBytes)"
        }
        return nil
    }
}
