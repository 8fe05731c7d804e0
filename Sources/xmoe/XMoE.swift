import ArgumentParser
import XMoEPipeline

@main
struct XMoE: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xmoe",
        abstract: "Train expert-specialized Mixture-of-Experts language models from YAML specs.",
        subcommands: [RunCommand.self, SweepCommand.self, ReportCommand.self, PlanCommand.self, PrepareDataCommand.self, ConfigCommand.self, SpecReferenceCommand.self])

    /// Signals are handled from the first instruction on, for every command: SIGINT, SIGTERM and SIGHUP
    /// end any xmoe process with 128 + signal, never with a crash (see `InterruptHandler`).
    static func main() {
        InterruptHandler.install()
        ParentWatch.startIfRequested()
        main(nil)
    }
}
