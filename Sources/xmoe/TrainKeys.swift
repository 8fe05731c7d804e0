/// What a change of one of the train step's spec keys does to a run that already trained.
///
/// - identity: the key defines the trained model or the samples it is trained on. Changing it starts
///   a new run; the old one is kept under `runs/<name>/archive/<identity hash>/`.
/// - continuation: the key says how long, how fast or where the run trains. Changing it continues
///   the run from its newest checkpoint, as Megatron does with a larger `--train-iters`.
enum TrainKeyRole: String, Sendable {
    case identity
    case continuation
}

extension TrainStep {
    /// Identity keys named one by one; with them, every `model.*` key and every `moe.*` key but the
    /// dispatcher. `train.global_batch` is identity because it fixes which samples make up each step
    /// (and `consumed_samples` counts them); the prepared data (the upstream step's key, or
    /// `data.prefix`) is part of the identity too, see `RunIdentity`.
    static let identityKeys: Set<String> = ["seed", "data.split", "data.prefix", "train.global_batch"]
    static let identityPrefixes = ["model.", "moe."]

    /// Continuation keys named one by one; with them every other `train.*` key (iterations, the LR
    /// schedule and its lengths, AdamW settings, clipping, the NaN policy, eval/save/log intervals,
    /// eval_iters, micro_batch — the global batch being fixed, it only splits the same samples
    /// differently — threads and device) and every `parallel.*` key: a checkpoint loads into any layout.
    static let continuationKeys: Set<String> = ["moe.dispatcher", "output.keep_checkpoints"]
    static let continuationPrefixes = ["train.", "parallel."]

    /// The role of one input key. A key matching no rule is identity: when in doubt a change starts
    /// a new run, which keeps the old one, rather than training one model on under another's settings.
    static func role(of key: String) -> TrainKeyRole {
        if identityKeys.contains(key) { return .identity }
        if continuationKeys.contains(key) { return .continuation }
        if identityPrefixes.contains(where: { key.hasPrefix($0) }) { return .identity }
        if continuationPrefixes.contains(where: { key.hasPrefix($0) }) { return .continuation }
        return .identity
    }
}
