import ArgumentParser
import Foundation
import XMoEBase

@main
struct XMoE: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xmoe",
        abstract: "Train expert-specialized Mixture-of-Experts language models from YAML specs.",
        version: Provenance.description,
        subcommands: [RunCommand.self, SweepCommand.self, ReportCommand.self, PlanCommand.self, PrepareDataCommand.self, ConfigCommand.self, SpecReferenceCommand.self])

    /// Line-buffered stdout: into a file (Slurm's log, sweep.log) the C library would otherwise hold
    /// `print`'s lines in a 4 KiB buffer while progress lines on stderr go out at once, and the log
    /// would show them out of order.
    static func main() {
        // glibc's `stdout` (FILE *) through dlsym: Swift 6 rejects the imported global as shared mutable state.
        if let symbol = dlsym(nil, "stdout") {
            setvbuf(symbol.load(as: UnsafeMutablePointer<FILE>?.self), nil, _IOLBF, 0)
        }
        main(nil)
    }
}
