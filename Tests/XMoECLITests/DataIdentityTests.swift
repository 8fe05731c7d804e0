import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A run never continues on data other than it started on: the data step's key and the run's
/// record come from the files' content, so neither a file swapped behind `data.prefix` nor an edit
/// of `data.input` that keeps its size and modification time goes unnoticed.
@Suite(.serialized) struct DataIdentityTests {
    /// TrainRunTests' tiny model, trained 8 steps with a checkpoint every 2 (short runs, several checkpoints).
    static let overrides = TrainRunTests.overrides.filter {
        !$0.hasPrefix("train.iters=") && !$0.hasPrefix("train.save_interval=") && !$0.hasPrefix("train.eval_interval=")
    } + ["train.iters=8", "train.save_interval=2", "train.eval_interval=4"]

    /// The first lines of the bundled corpus as plain JSON lines (editable in place).
    func corpus(_ dir: TemporaryDirectory, lines: Int = 1500) throws -> URL {
        let input = dir.url.appendingPathComponent("input.jsonl")
        let result = try Python.run("""
            import gzip, sys
            with gzip.open(sys.argv[1], 'rt') as f, open(sys.argv[2], 'w') as out:
                for i, line in enumerate(f):
                    if i >= int(sys.argv[3]): break
                    out.write(line)
            """, [XMoEBinary.repositoryRoot.appendingPathComponent("data/corpus/kjv.jsonl.gz").path, input.path, "\(lines)"])
        #expect(result.status == 0)
        return input
    }

    /// The quickstart spec on `data` (a `data.input` file or a `data.prefix`).
    func spec(_ dir: TemporaryDirectory, _ key: String, _ data: String) throws {
        let root = XMoEBinary.repositoryRoot.path
        let quickstart = try String(contentsOfFile: root + "/configs/quickstart.yaml", encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.contains("input: data/corpus") }
            .map { $0.hasPrefix("extends: ") ? "extends: \(root)/configs/presets/deepseek.yaml" : String($0) }
            .map { $0 == "name: quickstart" ? "name: tiny" : $0 }
        try dir.write("exp.yaml", quickstart.joined(separator: "\n").replacingOccurrences(
            of: "data:\n", with: "data:\n  \(key): \(data)\n  vocab_file: \(root)/data/gpt2/vocab.json\n  merge_file: \(root)/data/gpt2/merges.txt\n"))
    }

    /// Starts `xmoe run`, SIGKILLs it once its first checkpoint is complete.
    func runAndKill(_ dir: TemporaryDirectory) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: XMoEBinary.path)
        process.arguments = ["run", "exp.yaml"] + Self.overrides
        process.currentDirectoryURL = dir.url
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let latest = dir.url.appendingPathComponent("runs/tiny/checkpoints/latest")
        let deadline = Date().addingTimeInterval(300)
        while process.isRunning, Date() < deadline, !FileManager.default.fileExists(atPath: latest.path) { usleep(20_000) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal, "the run finished before it could be killed")
    }

    /// Bytes of a file changed in place; its size and modification time restored with `touch -d`.
    func editKeepingSizeAndTime(_ file: URL, _ change: (inout [UInt8]) -> Void) throws {
        let stamp = try Python.run("import os,sys; print(repr(os.stat(sys.argv[1]).st_mtime))", [file.path]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        var bytes = try [UInt8](Data(contentsOf: file))
        let size = bytes.count
        change(&bytes)
        #expect(bytes.count == size)
        let handle = try FileHandle(forWritingTo: file)
        try handle.write(contentsOf: Data(bytes))
        try handle.close()
        let touch = Process()
        touch.executableURL = URL(fileURLWithPath: "/usr/bin/touch")
        touch.arguments = ["-d", "@" + stamp, file.path]
        try touch.run()
        touch.waitUntilExit()
        let after = try Python.run("import os,sys; print(repr(os.stat(sys.argv[1]).st_mtime))", [file.path]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(after == stamp)
    }

    /// The corpus prepared by `xmoe prepare-data` (Megatron's preprocess_data.py interface) into `dir/data/`.
    func preparedPrefix(_ dir: TemporaryDirectory) throws -> String {
        let input = try corpus(dir)
        let root = XMoEBinary.repositoryRoot.path
        try FileManager.default.createDirectory(at: dir.url.appendingPathComponent("data"), withIntermediateDirectories: true)
        let prepared = try XMoEBinary.run(["prepare-data", "--input", input.path, "--output-prefix", "data/corpus",
                                           "--append-eod", "--workers", "1", "--vocab-file", root + "/data/gpt2/vocab.json",
                                           "--merge-file", root + "/data/gpt2/merges.txt"], in: dir.url)
        #expect(prepared.status == 0, "\(prepared.stderr)")
        return dir.url.appendingPathComponent("data/corpus_text_document").path
    }

    @Test func resumeOntoAReplacedPrefixIsRefused() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let prefix = try preparedPrefix(dir)
        try spec(dir, "prefix", prefix)
        try runAndKill(dir)
        // Another dataset of the same size behind the same name: two token ids swapped, mtime kept.
        let bin = URL(fileURLWithPath: prefix + ".bin")
        try editKeepingSizeAndTime(bin) { bytes in
            let first = Array(bytes[0..<2])
            bytes.replaceSubrange(0..<2, with: bytes[2..<4])
            bytes.replaceSubrange(2..<4, with: first)
        }
        let refused = try XMoEBinary.run(["run", "exp.yaml"] + Self.overrides, in: dir.url)
        #expect(refused.status != 0)
        let output = refused.stdout + refused.stderr
        #expect(output.contains("was trained on other data") && output.contains(bin.path), "\(output)")
        #expect(!output.contains("resumed from the checkpoint"), "\(output)")

        // The original data back: the run resumes and finishes.
        try editKeepingSizeAndTime(bin) { bytes in
            let first = Array(bytes[0..<2])
            bytes.replaceSubrange(0..<2, with: bytes[2..<4])
            bytes.replaceSubrange(2..<4, with: first)
        }
        let resumed = try XMoEBinary.run(["run", "exp.yaml"] + Self.overrides, in: dir.url)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resumed from the checkpoint of step"), "\(resumed.stderr)")
    }

    /// `data.input` edited in place (same size, mtime restored): the data step sees new content and
    /// reruns, and the finished run refuses to continue on the new tokens.
    @Test func inputEditedInPlaceIsDetected() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let input = try corpus(dir)
        try spec(dir, "input", input.path)
        let first = try XMoEBinary.run(["run", "exp.yaml"] + Self.overrides, in: dir.url)
        #expect(first.status == 0, "\(first.stderr)")
        try editKeepingSizeAndTime(input) { bytes in
            // "LORD" → "LOAD" in the text: other tokens, same byte count.
            let text = Array("LORD".utf8)
            let at = (0..<(bytes.count - 4)).first { Array(bytes[$0..<($0 + 4)]) == text }!
            bytes[at + 2] = UInt8(ascii: "A")
        }
        let plan = try XMoEBinary.run(["plan", "--brief", "exp.yaml"] + Self.overrides, in: dir.url)
        #expect(plan.stdout.contains("data.input file changed: sha256"), "\(plan.stdout)")
        let again = try XMoEBinary.run(["run", "exp.yaml"] + Self.overrides, in: dir.url)
        #expect(again.status != 0)
        let output = again.stdout + again.stderr
        #expect(output.contains("was trained on other data") && output.contains("prepared from data.input \(input.path)"),
                "\(output)")
    }
}
