import ArgumentParser
import XMoESpec

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Print the fully resolved spec (every default filled in) and its hash.")

    @OptionGroup var arguments: SpecArguments

    @Flag(help: "Print only the hash.")
    var hashOnly = false

    func run() throws {
        let spec = try arguments.load()
        print(hashOnly ? spec.hash : spec.resolvedDocument, terminator: hashOnly ? "\n" : "")
    }
}
