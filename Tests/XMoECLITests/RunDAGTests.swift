import Foundation
import Testing

/// `xmoe run` over the real prepare-data step: cached, rerun with the reason, same bytes as `xmoe prepare-data`.
@Suite struct RunDAGTests {
    static let documents = (0..<40).map { "{\"text\": \"Chapter \($0). In the beginning was the word, and the word was \($0 * 7).\"}" }

    /// The dataset the run's last prepare-data used: its record names the shared cache entry.
    func preparedFile(_ dir: TemporaryDirectory, _ ext: String) throws -> URL {
        let record = try JSONSerialization.jsonObject(
            with: Data(contentsOf: dir.url.appendingPathComponent("runs/tiny/steps/prepare-data.json"))) as? [String: Any]
        let entry = try #require(record?["cache_entry"] as? String)
        #expect(entry.hasPrefix(dir.url.appendingPathComponent("runs/cache/prepare-data/").path))
        return URL(fileURLWithPath: entry).appendingPathComponent("data/corpus_text_document.\(ext)")
    }

    func setUp() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory()
        try dir.write("corpus.jsonl", Self.documents.joined(separator: "\n") + "\n")
        let root = XMoEBinary.repositoryRoot.path
        try dir.write("exp.yaml", """
            name: tiny
            data:
              input: corpus.jsonl
              append_eod: true
              vocab_file: \(root)/data/gpt2/vocab.json
              merge_file: \(root)/data/gpt2/merges.txt
            """)
        return dir
    }

    @Test func secondRunSkipsAndAChangeRerunsWithItsReason() throws {
        let dir = try setUp()
        defer { dir.cleanup() }
        let first = try XMoEBinary.run(["run", "exp.yaml", "--step", "prepare-data"], in: dir.url)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("prepare-data: ran — never run"))
        let firstBytes = try Data(contentsOf: try preparedFile(dir, "bin"))

        let second = try XMoEBinary.run(["run", "exp.yaml", "--step", "prepare-data"], in: dir.url)
        #expect(second.status == 0)
        #expect(second.stdout.contains("prepare-data: skipped — cached in \(dir.url.path)/runs/cache/prepare-data/"), "\(second.stdout)")

        // The worker count does not change the tokens, so it does not invalidate the step.
        let workers = try XMoEBinary.run(["plan", "--brief", "exp.yaml", "data.workers=1"], in: dir.url)
        #expect(workers.stdout.contains("prepare-data  up-to-date"), "\(workers.stdout)")

        let plan = try XMoEBinary.run(["plan", "--brief", "exp.yaml", "data.append_eod=false"], in: dir.url)
        #expect(plan.stdout.contains("prepare-data  will rerun  data.append_eod changed: true → false"), "\(plan.stdout)")
        let third = try XMoEBinary.run(["run", "exp.yaml", "--step", "prepare-data", "data.append_eod=false"], in: dir.url)
        #expect(third.status == 0)
        #expect(third.stdout.contains("prepare-data: ran — data.append_eod changed: true → false"))
        // Without EOD every document is one token shorter: 40 × 2 bytes.
        #expect(try Data(contentsOf: try preparedFile(dir, "bin")).count == firstBytes.count - 40 * 2)
        // spec.resolved.yaml says what the run trained with: preparing other data alone does not replace it.
        let resolved = try String(contentsOf: dir.url.appendingPathComponent("runs/tiny/spec.resolved.yaml"), encoding: .utf8)
        #expect(resolved.contains("append_eod: true"))
    }

    @Test func stepOutputEqualsThePrepareDataCommand() throws {
        let dir = try setUp()
        defer { dir.cleanup() }
        #expect(try XMoEBinary.run(["run", "exp.yaml", "--step", "prepare-data"], in: dir.url).status == 0)
        let root = XMoEBinary.repositoryRoot.path
        let direct = try XMoEBinary.run(["prepare-data", "--input", "corpus.jsonl", "--output-prefix", "direct", "--append-eod",
                                         "--workers", "1", "--vocab-file", "\(root)/data/gpt2/vocab.json",
                                         "--merge-file", "\(root)/data/gpt2/merges.txt"], in: dir.url)
        #expect(direct.status == 0, "\(direct.stderr)")
        #expect(direct.stdout.contains("prepared 40 documents from 40 lines"))
        for ext in ["bin", "idx"] {
            let a = try Data(contentsOf: dir.url.appendingPathComponent("direct_text_document.\(ext)"))
            let b = try Data(contentsOf: try preparedFile(dir, ext))
            #expect(a == b, ".\(ext) differs")
        }
    }

    @Test func aBadLineFailsNamingFileAndLineAndLeavesNoOutput() throws {
        let dir = try setUp()
        defer { dir.cleanup() }
        try dir.write("corpus.jsonl", Self.documents[0] + "\n{\"title\": \"no text key\"}\n" + Self.documents[1] + "\n")
        let result = try XMoEBinary.run(["run", "exp.yaml", "--step", "prepare-data"], in: dir.url)
        #expect(result.status == 1)
        #expect(result.stdout.contains("prepare-data: failed"))
        #expect(result.stderr.contains("corpus.jsonl:2: missing key"), "\(result.stderr)")
        // Nothing at a final name in the shared cache: only the step's record says it failed.
        let entries = FileManager.default.enumerator(atPath: dir.url.appendingPathComponent("runs/cache").path)?
            .compactMap { $0 as? String } ?? []
        #expect(!entries.contains { $0.hasSuffix("_document.bin") || $0.hasSuffix("_document.idx") }, "\(entries)")
        let plan = try XMoEBinary.run(["plan", "--brief", "exp.yaml"], in: dir.url)
        #expect(plan.stdout.contains("previous run failed"), "\(plan.stdout)")
        // The documented switch skips the line and counts it.
        let skipping = try XMoEBinary.run(["run", "exp.yaml", "--step", "prepare-data", "data.skip_bad_lines=true"], in: dir.url)
        #expect(skipping.status == 0, "\(skipping.stderr)")
    }
}
