import Foundation
import Testing

/// README.md must stay true: its key reference is the schema's, its test command is CI's.
@Suite struct ReadmeTests {
    let readme = (try? String(contentsOf: XMoEBinary.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)) ?? ""

    @Test func keyReferenceMatchesTheSchema() throws {
        let begin = try #require(readme.range(of: "-->\n", range: readme.range(of: "<!-- spec-reference:begin")!.upperBound..<readme.endIndex))
        let end = try #require(readme.range(of: "<!-- spec-reference:end -->"))
        let documented = String(readme[begin.upperBound..<end.lowerBound])
        let generated = try XMoEBinary.run(["spec-reference"], in: XMoEBinary.repositoryRoot)
        #expect(generated.status == 0)
        #expect(documented == generated.stdout, "README's key reference is stale: paste `xmoe spec-reference` into it")
    }

    @Test func ciRunsTheReadmeTestCommand() throws {
        let ci = try String(contentsOf: XMoEBinary.repositoryRoot.appendingPathComponent(".ci/run"), encoding: .utf8)
        let command = try #require(ci.split(separator: "\n").last).trimmingCharacters(in: .whitespaces)
        #expect(command.hasSuffix("swift test"))
        #expect(readme.contains("\n" + command + "\n"), "README's Quick start must carry CI's command: \(command)")
    }
}
