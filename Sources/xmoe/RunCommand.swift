import ArgumentParser
import Foundation
import XMoEBase
import XMoEPipeline
import XMoESpec

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run an experiment's whole DAG, skipping the steps that are already done.")

    @OptionGroup var arguments: SpecArguments

    @Option(name: .customLong("force"), help: ArgumentHelp("Rerun this step even if it is up to date (repeatable).", valueName: "step"))
    var forced: [String] = []

    @Option(name: .customLong("step"), help: ArgumentHelp("Run only this step and the steps it depends on (repeatable), e.g. --step prepare-data.", valueName: "step"))
    var onlySteps: [String] = []

    func run() throws {
        let spec = try arguments.load()
        if try RankLauncher.takeOver(spec: spec) { return }  // multi-rank: launch mpirun, or follow rank 0
        defer { RankLauncher.finish() }
        let dag = try ExperimentDAG(spec: spec)
        let unknown = (forced + onlySteps).filter { name in !dag.pipeline.steps.contains { $0.name == name } }
        if !unknown.isEmpty {
            Terminal.error("xmoe: --force/--step name unknown step(s) \(unknown.joined(separator: ", ")); steps: "
                           + dag.pipeline.steps.map(\.name).joined(separator: ", "))
            throw ExitCode(2)
        }
        let pipeline = onlySteps.isEmpty ? dag.pipeline : try dag.pipeline.restricted(to: onlySteps)
        if pipeline.steps.contains(where: { $0.name == "train" }) { try checkMemory(spec) }
        InterruptHandler.install()
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
        try AtomicWrite.write(spec.resolvedDocument, to: dag.runDirectory.root.appendingPathComponent("spec.resolved.yaml"))
        print("xmoe: \(spec.name) (hash \(spec.hash.prefix(12))) in \(dag.runDirectory.root.path)")
        // A sweep reads its children's progress from their logs, so it asks for plain lines more often.
        let interval = ProcessInfo.processInfo.environment["XMOE_PROGRESS_INTERVAL"].flatMap(Double.init) ?? 10
        let report = try pipeline.run(reporter: TerminalProgressReporter(plainInterval: interval), forcing: Set(forced))
        for outcome in report.outcomes {
            print("  \(outcome.step): \(outcome.result.rawValue)\(outcome.detail.isEmpty ? "" : " — \(outcome.detail)")")
        }
        if !report.succeeded { throw ExitCode(1) }
    }

    /// Refuses, before anything is allocated or written, a plan whose ranks on this machine need more
    /// memory than it has, and says what to change.
    func checkMemory(_ spec: ExperimentSpec) throws {
        let report = LayoutReport(spec: spec)
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
}
