import ArgumentParser

@main
struct XMoE: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xmoe",
        abstract: "Train expert-specialized Mixture-of-Experts language models from YAML specs.",
        subcommands: [RunCommand.self, SweepCommand.self, ReportCommand.self, PlanCommand.self, PrepareDataCommand.self, ConfigCommand.self, SpecReferenceCommand.self])
}
