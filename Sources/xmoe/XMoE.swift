import ArgumentParser
import Foundation
import XMoEBase

@main
struct XMoE: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xmoe",
        abstract: "Train expert-specialized Mixture-of-Experts language models from YAML specs.",
        subcommands: [RunCommand.self, SweepCommand.self, ReportCommand.self, PlanCommand.self, PrepareDataCommand.self, ConfigCommand.self, SpecReferenceCommand.self])

    /// ArgumentParser's `main`, except that a file error from Foundation that no command turned into
    /// a message of its own is printed with its path and reason, never as "NSCocoaErrorDomain error 256".
    static func main() {
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
