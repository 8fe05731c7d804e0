import ArgumentParser
import Foundation
import XMoEBase
import XMoEComputeCUDA
import XMoEParallel
import XMoEPipeline
import XMoESpec

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run an experiment's whole DAG, skipping the steps that are already done.",
        usage: "xmoe run <spec> [<key.path=value> ...] [--force <step> ...]\n           [--step <step> ...]")

    @OptionGroup var arguments: SpecArguments

    @Option(name: .customLong("force"), help: ArgumentHelp("Rerun this step even if it is up to date (repeatable).", valueName: "step"))
    var forced: [String] = []

    @Option(name: .customLong("step"), help: ArgumentHelp("Run only this step and the steps it depends on (repeatable), e.g. --step prepare-data.", valueName: "step"))
    var onlySteps: [String] = []

    func run() throws {
        let spec = try arguments.load(checkingDevice: true)
        // Before mpirun starts N ranks of it on this machine, not after.
        if spec.values.int("parallel.world_size")! > 1 && MPIRuntime.detectedLauncher == nil {
            try checkMemory(spec)
            // A missing corpus is named here, once, rather than by every rank after mpirun started them.
            let dag = try ExperimentDAG(spec: spec)
            try checkInputs(spec, pipeline: onlySteps.isEmpty ? dag.pipeline : try dag.pipeline.restricted(to: onlySteps))
        }
        if try RankLauncher.takeOver(spec: spec) { return }  // multi-rank: launch mpirun, or follow rank 0
        defer { RankLauncher.finish() }
        var dag = try ExperimentDAG(spec: spec)
        let unknown = (forced + onlySteps).filter { name in !dag.pipeline.steps.contains { $0.name == name } }
        if !unknown.isEmpty {
            Terminal.error("xmoe: --force/--step name unknown step(s) \(unknown.joined(separator: ", ")); steps: "
                           + dag.pipeline.steps.map(\.name).joined(separator: ", "))
            throw ExitCode(2)
        }
        var pipeline = onlySteps.isEmpty ? dag.pipeline : try dag.pipeline.restricted(to: onlySteps)
        if pipeline.steps.contains(where: { $0.name == "train" }) { try checkMemory(spec) }
        try checkInputs(spec, pipeline: pipeline)
        try FileManager.default.createDirectory(at: dag.runDirectory.root, withIntermediateDirectories: true)
        // Two processes training into one run directory would interleave checkpoints and metrics.
        let lock: RunLock
        do {
            lock = try dag.runDirectory.lock()
        } catch let error as PipelineError {
            Terminal.error("xmoe: \(error)")
            throw ExitCode(1)
        }
        defer { lock.release() }
        // Built again under the lock: what the run directory holds decides what the train step does.
        dag = try ExperimentDAG(spec: spec)
        pipeline = onlySteps.isEmpty ? dag.pipeline : try dag.pipeline.restricted(to: onlySteps)
        noticeAbandonedSteps(dag.runDirectory, previousHolder: lock.previousHolder)
        // Of this run and of the shared step cache (records and data a killed process never renamed).
        let stale = StaleTemporaries.remove(under: dag.runDirectory.root)
            + StaleTemporaries.remove(under: URL(fileURLWithPath: spec.values.string("output.cache_dir")!, isDirectory: true))
        if !stale.isEmpty {
            Terminal.error("xmoe: removed \(stale.count) temporary file\(stale.count == 1 ? "" : "s") killed xmoe processes left: \(stale.prefix(3).joined(separator: ", "))\(stale.count > 3 ? ", …" : "")")
        }
        // The train step writes spec.resolved.yaml when training really starts; a run directory that
        // has none yet gets it now, so it says what it is for from the start.
        let resolved = dag.runDirectory.root.appendingPathComponent("spec.resolved.yaml")
        if !FileManager.default.fileExists(atPath: resolved.path) {
            try AtomicWrite.write(Provenance.yamlComment + spec.resolvedDocument, to: resolved)
        }
        print("xmoe: \(spec.name) (hash \(spec.hash.prefix(12))) in \(dag.runDirectory.root.path)")
        // A sweep reads its children's progress from their logs, so it asks for plain lines more often.
        let interval = ProcessInfo.processInfo.environment["XMOE_PROGRESS_INTERVAL"].flatMap(Double.init) ?? 10
        let report = try pipeline.run(reporter: TerminalProgressReporter(plainInterval: interval), forcing: Set(forced))
        // A signal after the last step finished: the user asked to stop, say so in the exit status.
        if InterruptHandler.pendingSignal != nil { InterruptHandler.exitInterrupted() }
        // Each step's status once: the progress lines on stderr already gave it when both go to one file.
        for outcome in report.outcomes where !OutputStreams.shareOneFile || !report.succeeded {
            print("  \(outcome.step): \(outcome.result.rawValue)\(outcome.detail.isEmpty ? "" : " — \(outcome.detail)")")
        }
        if !report.succeeded { throw ExitCode(1) }
    }

    /// Refuses, before anything is written, a run whose input files are missing or unreadable.
    func checkInputs(_ spec: ExperimentSpec, pipeline: Pipeline) throws {
        let problems = InputFiles.problems(spec, plans: try pipeline.plan(forcing: Set(forced)))
        guard !problems.isEmpty else { return }
        for problem in problems { Terminal.error("xmoe: \(problem)") }
        Terminal.error("xmoe: \(spec.name): fix the input\(problems.count == 1 ? "" : "s") above; nothing was run or written")
        throw ExitCode(1)
    }

    /// Steps left `running` by a process that is gone (SIGKILL, a killed sweep): say so before rerunning them.
    func noticeAbandonedSteps(_ run: RunDirectory, previousHolder: Int32?) {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: run.stepsDirectory.path)) ?? [])
            .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
        for name in names {
            guard let record = try? run.readRecord(step: name), record.status == .running else { continue }
            let who = previousHolder.map { "xmoe process \($0)" } ?? "an xmoe process"
            Terminal.error("xmoe: step '\(name)' was left running by \(who), which is gone; taking the run over")
        }
    }

    /// Refuses, before anything is allocated or written, a plan whose ranks on this machine need more
    /// memory than it has, and says what to change.
    func checkMemory(_ spec: ExperimentSpec) throws {
        let report = LayoutReport(spec: spec)
        if TrainDevice.isCUDA(spec) { return try checkGPUMemory(report) }
        guard let verdict = report.memoryVerdict, !verdict.fits else { return }
        let p = report.plan
        Terminal.error("""
            xmoe: \(spec.name) does not fit: \(verdict.text)
              per rank: weights+grads+AdamW \(Format.bytes(p.stateBytesPerRank)), activations per micro-batch \(Format.bytes(p.activationBytesPerRank))
              to fit: lower train.micro_batch (activations scale with it), raise parallel.ep (experts per rank: \(p.localExperts)) or
              parallel.zero_stage=1, spread the ranks over more nodes (parallel.ranks_per_node), or shrink the model
              (model.layers, model.hidden, moe.num_experts); `xmoe plan` shows the estimate for any overrides.
            """)
        throw ExitCode(1)
    }

    /// `train.device: cuda`: the model, its optimizer state and activations live in the GPU's memory,
    /// so the plan's GPU estimate is checked against the GPU's size (not the host's).
    func checkGPUMemory(_ report: LayoutReport) throws {
        guard let size = try? CUDABackend.deviceMemoryBytes() else { return }  // unavailableErrors said why
        let verdict = report.gpuVerdict(size: size)
        guard !verdict.fits else { return }
        let e = report.gpuEstimate, spec = report.spec
        Terminal.error("""
            xmoe: \(spec.name) does not fit on the GPU: the estimate is \(Format.bytes(e.totalBytes)) (train.precision \(TrainDevice.precision(spec))) \
            and the GPU has \(Format.bytes(size))
              parameters, grads and AdamW moments \(Format.bytes(e.parameterBytes)); per micro-batch: activations \(Format.bytes(e.activationBytes)), \
            attention probabilities \(Format.bytes(e.attentionProbabilityBytes)), temporaries \(Format.bytes(e.transientBytes))
              to fit: lower train.micro_batch (activations scale with it) or model.seq_length, use train.precision=bf16 if it is fp32, \
            or shrink the model (model.layers, model.hidden, moe.num_experts, moe.expert_ffn_hidden); `xmoe plan` shows the estimate for any overrides.
            """)
        throw ExitCode(1)
    }
}
