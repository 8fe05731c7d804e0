import ArgumentParser
import Foundation
import XMoEPipeline
import XMoESpec

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Dry run: the resolved spec, the DAG with each step's status, the layout, memory and FLOPs. Runs nothing.")

    @OptionGroup var arguments: SpecArguments

    @Flag(help: "Leave out the resolved spec.")
    var brief = false

    func run() throws {
        let spec = try arguments.load(checkingDevice: true)
        let dag = try ExperimentDAG(spec: spec)
        if !brief { print(spec.resolvedDocument) }
        print("spec     \(spec.name)  hash \(spec.hash)")
        print("run dir  \(spec.values.string("output.dir")!)/\(spec.name)")
        print("")
        print("DAG")
        let plans = try dag.pipeline.plan()
        print(PlanTable.render(plans).split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.isEmpty ? "" : "  " + $0 }.joined(separator: "\n"), terminator: "")
        print("")
        print(LayoutReport(spec: spec).text)
    }
}
