import Foundation
import XMoEBase
import XMoECompute
import XMoEData
import XMoEModel
import XMoEPipeline
import XMoESpec
import XMoETrain

/// The DAG's training step: builds the sample index over the prepared data, the model and the
/// trainer, then trains to `train.iters`, writing `metrics.h5` and `checkpoints/` in the run directory.
///
/// A run is never lost. Training is resumable rather than reusable: rerun after a crash, or with a
/// changed continuation key (`TrainStep.role`: iterations, LR schedule, intervals, layout, …), it
/// continues from the newest complete checkpoint; with a changed identity key (model, data, seed,
/// global batch) it starts a new run and first moves the old one to `archive/<identity hash>/`
/// (and continues an archived run of the new identity if there is one). Nothing of an existing run
/// changes until the new data, model and trainer are built: only then are the old files archived and
/// `spec.resolved.yaml` and `identity.json` written.
enum TrainStep {
    static let keys = ["seed", "model", "moe", "parallel", "train", "data.split", "output.keep_checkpoints"]
    /// Settings that change how fast or how verbosely training runs, never its results (the CPU
    /// backend is bit-identical for any thread count), so changing them does not even rerun the step.
    static let resultNeutralKeys: Set<String> = ["train.threads", "train.log_interval"]

    /// The step's inputs: its keys' slice of the spec (and `data.prefix` when the data is given that way).
    static func inputs(_ spec: ExperimentSpec) -> [String: String] {
        var inputs = spec.slice(keys).filter { !resultNeutralKeys.contains($0.key) }
        if let prefix = spec.values.string("data.prefix") { inputs["data.prefix"] = prefix }
        return inputs
    }

    /// `runRoot`'s current contents are read now, before any step of this process writes there.
    static func step(_ spec: ExperimentSpec, upstream: String?, runRoot: URL) -> Step {
        let inputs = inputs(spec)
        let existing = ExistingRun(root: runRoot, currentInputs: inputs)
        let iters = spec.values.int("train.iters")!
        var step = Step(name: "train", upstream: upstream.map { [$0] } ?? [], inputs: inputs, formatVersion: "1") { context in
            let identity = RunIdentity(inputs: inputs, upstream: context.upstreamKeys)
            try train(spec: spec, context: context, identity: identity, existing: existing,
                      verdict: TrainVerdict(existing: existing, current: identity))
            return StepOutputs(files: ["metrics": "metrics.h5"], facts: [:])
        }
        step.planNote = { upstreamKeys in
            TrainVerdict(existing: existing, current: RunIdentity(inputs: inputs, upstream: upstreamKeys))
                .note(iters: iters)
        }
        return step
    }

    struct Unsupported: Error, CustomStringConvertible {
        var description: String
    }

    static func train(spec: ExperimentSpec, context: StepContext, identity: RunIdentity, existing: ExistingRun,
                      verdict: TrainVerdict) throws {
        let v = spec.values
        // The commands refuse unsupported layouts up front (SpecArguments.load); TrainLayout.make
        // refuses them again for a spec that reaches here another way.
        let threads = v.int("train.threads")! > 0 ? v.int("train.threads")! : automaticThreads()
        let backend = try TrainDevice.makeBackend(spec: spec, threads: threads)
        let layout = try TrainLayout.make(spec: spec, backend: backend)
        let root = context.runDirectory.root
        let data = try TrainingData(spec: spec, context: context)
        let config = spec.modelConfig
        let dropping = v.bool("moe.drop_tokens")!
        let options = MoEOptions(
            gating: Gating(rawValue: v.string("moe.gating")!)!,
            capacity: dropping ? CapacityRule(capacityFactor: v.float("moe.capacity_factor")!, minCapacity: v.int("moe.min_capacity")!)
                : .dropless,
            auxLossCoeff: Float(v.float("moe.aux_loss_coeff")!), zLossCoeff: Float(v.float("moe.z_loss_coeff")!),
            ropeTheta: Float(v.float("model.rope_theta")!), normEps: Float(v.float("model.norm_eps")!),
            initStd: v.float("model.init_std")!, seed: UInt64(v.int("seed")!))
        let model = MoETransformer(config: config, options: options, backend: backend,
                                   dispatcher: layout.dispatcher)
        model.dropout = DropoutRates(hidden: v.float("model.dropout")!, attention: v.float("model.attention_dropout")!)
        let iters = v.int("train.iters")!
        let global = v.int("train.global_batch")!
        let tokensPerStep = global * config.seqLength
        let schedule: LRSchedule
        if let warmupTokens = v.int("train.warmup_tokens") {
            schedule = LRSchedule(maxLR: v.float("train.lr")!, minLR: v.float("train.min_lr")!, warmup: warmupTokens,
                                  decayEnd: v.int("train.decay_tokens") ?? iters * tokensPerStep,
                                  decay: LRSchedule.Decay(rawValue: v.string("train.lr_schedule")!)!, unit: .tokens)
        } else {
            schedule = LRSchedule(maxLR: v.float("train.lr")!, minLR: v.float("train.min_lr")!, warmup: v.int("train.warmup_iters")!,
                                  decayEnd: v.int("train.decay_tokens").map { $0 / tokensPerStep } ?? iters,
                                  decay: LRSchedule.Decay(rawValue: v.string("train.lr_schedule")!)!, unit: .iterations)
        }
        var settings = TrainerSettings(
            microBatchSize: v.int("train.micro_batch")!, globalBatchSize: global, trainSteps: iters, schedule: schedule,
            adamw: AdamWSettings(beta1: Float(v.float("train.adam_beta1")!), beta2: Float(v.float("train.adam_beta2")!),
                                 eps: Float(v.float("train.adam_eps")!), weightDecay: Float(v.float("train.weight_decay")!)),
            clipGrad: v.float("train.clip_grad")!, nonFinite: NonFinitePolicy(rawValue: v.string("train.nan_policy")!)!,
            evalInterval: v.int("train.eval_interval")!, evalIterations: v.int("train.eval_iters")!,
            checkpointInterval: v.int("train.save_interval")! > 0 ? v.int("train.save_interval")! : iters,
            keepCheckpoints: v.int("output.keep_checkpoints")! > 0 ? v.int("output.keep_checkpoints")! : Int.max,
            expertBiasRate: v.string("moe.gating") == "sigmoid_bias" ? Float(v.float("moe.bias_update_rate")!) : 0)
        settings.tensorboard = v.bool("output.tensorboard")!
        let trainer = try Trainer(model: model, settings: settings, trainData: data.train, validationData: data.validation,
                                  runDirectory: root, specHash: spec.hash, groups: layout.groups,
                                  zeroStage: layout.zeroStage)
        // Everything is built: from here on the run directory changes, by rank 0 alone.
        let leader = layout.groups.rank == 0
        if leader {
            if let note = verdict.note(iters: iters) { context.note(note) }
            if case .newRun(_, let archive, let restore) = verdict {
                if existing.hasTrainedOutputs {
                    try existing.archive(to: archive)
                    context.note("kept the earlier run in \(displayPath(archive))")
                }
                if let restore { try existing.restore(from: restore) }
            }
        }
        try layout.groups.world.barrier()
        let resumed = try trainer.resume()
        if leader {
            trainer.resumeNotices.forEach(trainNotice)
            for note in trainer.resumeNotes { context.note(note) }
            if let step = resumed { context.note("resumed from the checkpoint of step \(step)") }
            try identity.write(in: root)
            try AtomicWrite.write(Provenance.yamlComment + spec.resolvedDocument, to: root.appendingPathComponent("spec.resolved.yaml"))
        }
        let started = Date()
        let first = trainer.state.step
        let logInterval = v.int("train.log_interval")!
        trainer.shouldStop = { InterruptHandler.pendingSignal != nil }
        try InterruptHandler.cooperating { try trainer.run { report in
            guard report.step % logInterval == 0 || report.eval != nil || report.step == iters else { return }
            let done = report.step - first
            let elapsed = Date().timeIntervalSince(started)
            let eta = done > 0 ? elapsed / Double(done) * Double(iters - report.step) : .nan
            var message = "step \(report.step)/\(iters) loss \(ProgressFormat.decimal(report.loss, digits: 4)) "
                + "lr \(ProgressFormat.scientific(report.lr)) grad \(ProgressFormat.decimal(report.gradNorm, digits: 2)) "
                + "\(ProgressFormat.count(report.tokensPerSecond)) tok/s ETA \(ProgressFormat.duration(eta))"
            if let eval = report.eval { message += String(format: " | eval %.4f ppl %.1f", eval.loss, eval.perplexity) }
            message += RouterHealthLine.suffix(report, firstMoELayer: config.firstDenseLayers)
            context.progress(Double(report.step) / Double(iters), message)
        } }
        if leader, let note = TrainDevice.peakMemoryNote(backend: backend, spec: spec) { context.note(note) }
    }
}

/// `train.threads = 0`: every core, unless `xmoe sweep` runs several points at once and says, through
/// XMOE_AUTO_THREADS, how many cores each of its children may take.
func automaticThreads() -> Int {
    if let text = ProcessInfo.processInfo.environment["XMOE_AUTO_THREADS"], let n = Int(text), n > 0 { return n }
    return ProcessInfo.processInfo.activeProcessorCount
}

/// Train and validation samples of the prepared data, indexed as megatron-core's GPTDataset does.
struct TrainingData {
    let train: GPTBatchSource
    let validation: GPTBatchSource?

    init(spec: ExperimentSpec, context: StepContext) throws {
        let v = spec.values
        let prefix: String
        if let given = v.string("data.prefix") {
            prefix = given
        } else {
            let key = v.strings("data.json_keys")!.first!
            guard let relative = context.upstreamOutputs["prepare-data"]?.facts["\(key).prefix"] else {
                throw TrainStep.Unsupported(description: "prepare-data recorded no dataset for json key '\(key)'")
            }
            prefix = try context.upstreamRoot(step: "prepare-data").appendingPathComponent(relative).path
        }
        let dataset = try IndexedDataset(prefix: prefix)
        try DataIdentity.verify(prefix: prefix, runRoot: context.runDirectory.root, source: v.string("data.input"))
        try dataset.validateTokenIDs(vocabularySize: v.int("model.vocab_size")!)
        let ranges = try SplitRanges.ranges(split: v.string("data.split")!, sequenceCount: dataset.sequenceCount)
        let seq = v.int("model.seq_length")!
        let cache = SampleIndexCache(directory: context.runDirectory.root.appendingPathComponent("cache/sample-index").path)
        let seed = UInt32(truncatingIfNeeded: v.int("seed")!)
        guard let trainRange = ranges[0], !trainRange.isEmpty else {
            throw TrainStep.Unsupported(description: "data.split '\(v.string("data.split")!)' leaves no training documents")
        }
        // As Megatron builds it for --train-iters: train.iters · global_batch samples. A run continued to
        // more iterations gets the index a run started with them would get (more epochs may reshuffle
        // it) and goes on at its consumed_samples position, exactly as Megatron does after raising
        // --train-iters; the steps already trained are not repeated.
        let trainSamples = v.int("train.iters")! * v.int("train.global_batch")!
        let trainIndex = try cache.loadOrBuild(sizes: dataset.sequenceLengths, sequences: trainRange,
                                               config: GPTSampleIndexConfig(sequenceLength: seq, seed: seed, sampleCount: trainSamples),
                                               notice: trainNotice)
        train = GPTBatchSource(samples: GPTDatasetSamples(dataset: dataset, index: trainIndex), seqLen: seq)
        if ranges.count > 1, let validRange = ranges[1], !validRange.isEmpty, v.int("train.eval_interval")! > 0 {
            let samples = v.int("train.eval_iters")! * v.int("train.micro_batch")!
            let index = try cache.loadOrBuild(sizes: dataset.sequenceLengths, sequences: validRange,
                                              config: GPTSampleIndexConfig(sequenceLength: seq, seed: seed, sampleCount: samples),
                                              notice: trainNotice)
            validation = GPTBatchSource(samples: GPTDatasetSamples(dataset: dataset, index: index), seqLen: seq)
        } else {
            validation = nil
        }
    }
}

/// Megatron GPT samples (seq_length + 1 tokens each) as next-token micro-batches.
struct GPTBatchSource: BatchSource {
    let samples: GPTDatasetSamples
    let seqLen: Int

    func microBatch(at position: Int, samples count: Int) throws -> MicroBatch {
        var tokens: [Int32] = [], targets: [Int32] = []
        tokens.reserveCapacity(count * seqLen)
        targets.reserveCapacity(count * seqLen)
        for i in position..<(position + count) {
            let sample = samples.sample(i % samples.sampleCount)
            tokens.append(contentsOf: sample[0..<seqLen])
            targets.append(contentsOf: sample[1...seqLen])
        }
        return MicroBatch(tokens: tokens, targets: targets)
    }
}
