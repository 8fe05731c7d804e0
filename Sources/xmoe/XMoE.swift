import ArgumentParser
import Foundation
import XMoEBase
import XMoEPipeline

@main
struct XMoE: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xmoe",
        abstract: "Train expert-specialized Mixture-of-Experts language models from YAML specs.",
        version: Provenance.description,
        subcommands: [RunCommand.self, SweepCommand.self, ReportCommand.self, PlanCommand.self, PrepareDataCommand.self, ConfigCommand.self, SpecReferenceCommand.self])

    /// ArgumentParser's `main`, with three additions. Signals are handled from the first instruction
    /// on, for every command: SIGINT, SIGTERM and SIGHUP end any xmoe process with 128 + signal, never
    /// with a crash (see `InterruptHandler`). stdout is line-buffered: into a file (Slurm's log,
    /// sweep.log) the C library would otherwise hold `print`'s lines in a 4 KiB buffer while progress
    /// lines on stderr go out at once, and the log would show them out of order. A file error from
    /// Foundation that no command turned into a message of its own is printed with its path and
    /// reason, never as "NSCocoaErrorDomain error 256".
    static func main() {
        InterruptHandler.install()
        ParentWatch.startIfRequested()
        // glibc's `stdout` (FILE *) through dlsym: Swift 6 rejects the imported global as shared mutable state.
        if let symbol = dlsym(nil, "stdout") {
            setvbuf(symbol.load(as: UnsafeMutablePointer<FILE>?.self), nil, _IOLBF, 0)
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as NSError where error.domain == NSCocoaErrorDomain || error.domain == NSPOSIXErrorDomain {
            Terminal.error("xmoe: error: \(readableDescription(of: error))")
            Foundation.exit(1)
        } catch {
            exit(withError: error)
        }
    }
}
