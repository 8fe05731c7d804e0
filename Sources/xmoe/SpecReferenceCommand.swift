import ArgumentParser
import XMoESpec

struct SpecReferenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spec-reference",
        abstract: "Print the Markdown reference of every spec key (as in README.md).")

    func run() throws {
        print(SpecReference.markdown, terminator: "")
    }
}
