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

    func run() throws {
        let spec = try arguments.load()
        let dag = try ExperimentDAG(spec: spec)
        let unknown = forced.filter { name in !dag.pipeline.steps.contains { $0.name == name } }
        if !unknown.isEmpty {
            Terminal.error("xmoe: --force names unknown step(s) \(unknown.joined(separator: ", ")); steps: "
                           + dag.pipeline.steps.map(\.name).joined(separator: ", "))
            throw ExitCode(2)
        }
        InterruptHandler.install()
        try FileManager.default.createDirectory(at: dag.runDirectory.root, withIntermediateDirectories: true)
        try AtomicWrite.write(spec.resolvedDocument, to: dag.runDirectory.root.appendingPathComponent("spec.resolved.yaml"))
        print("xmoe: \(spec.name) (hash \(spec.hash.prefix(12))) in \(dag.runDirectory.root.path)")
        let report = try dag.pipeline.run(reporter: TerminalProgressReporter(), forcing: Set(forced))
        for outcome in report.outcomes {
            print("  \(outcome.step): \(outcome.result.rawValue)\(outcome.detail.isEmpty ? "" : " — \(outcome.detail)")")
        }
        if !report.succeeded { throw ExitCode(1) }
    }
}
