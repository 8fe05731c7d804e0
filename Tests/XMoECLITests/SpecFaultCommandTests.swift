import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Fault injection through the built binary: hostile specs and inputs end with a located error and
/// exit status 2 (spec) or 1 (input), never a trap, a raw Foundation error or unbounded memory, and
/// a refused spec writes nothing.
@Suite struct SpecFaultCommandTests {
    static let root = XMoEBinary.repositoryRoot.path

    /// A tiny runnable spec on a corpus in the directory.
    func setUp() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory()
        let lines = (0..<30).map { "{\"text\": \"Verse \($0): and the light shone in the darkness \($0 * 3).\"}" }
        try dir.write("corpus.jsonl", lines.joined(separator: "\n") + "\n")
        try dir.write("exp.yaml", """
            name: tiny
            data:
              input: corpus.jsonl
              vocab_file: \(Self.root)/data/gpt2/vocab.json
              merge_file: \(Self.root)/data/gpt2/merges.txt
              workers: 1
            model:
              layers: 1
              hidden: 16
              heads: 2
              seq_length: 16
            moe:
              num_experts: 2
              top_k: 1
              expert_ffn_hidden: 16
            train:
              micro_batch: 2
              iters: 2
              eval_interval: 0
              threads: 1

            """)
        return dir
    }

    func expectRefused(_ result: CommandResult, location: String, key: String, says: String,
                       sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 2, "\(result.stderr)", sourceLocation: sourceLocation)
        let line = result.stderr.split(separator: "\n").first { $0.hasPrefix("\(location): error: \(key):") }
        #expect(line?.contains(says) == true, "expected '\(location): error: \(key): …\(says)' in:\n\(result.stderr)",
                sourceLocation: sourceLocation)
        #expect(!result.stderr.contains("Fatal error"), sourceLocation: sourceLocation)
    }

    /// Overflowing products, escaping names, splits that leave no training documents or that
    /// Megatron would read differently, and unsupported layouts: refused by config, plan and run alike,
    /// before anything is written.
    @Test(arguments: [
        (["train.iters=9223372036854775807"], 1, "train.iters", "tokens of the whole run"),
        (["model.seq_length=1048576", "train.micro_batch=1048576"], 2, "train.micro_batch", "activations of one micro-batch"),
        (["name=.."], 1, "name", "its parent"),
        (["name=../x"], 1, "name", "holds a '/'"),
        (["data.split=0,1,0"], 1, "data.split", "leaves no training documents"),
        (["data.split=1e308,1,1"], 1, "data.split", "not a plain decimal weight"),
    ])
    func refusedByEveryCommandBeforeAnythingIsWritten(_ overrides: [String], _ blamed: Int, _ key: String, _ says: String) throws {
        let dir = try setUp()
        defer { dir.cleanup() }
        let before = dir.listing()
        for command in ["config", "plan", "run"] {
            let result = try XMoEBinary.run([command, "exp.yaml"] + overrides, in: dir.url)
            expectRefused(result, location: "command line: override #\(blamed) '\(overrides[blamed - 1])'", key: key, says: says)
            #expect(dir.listing() == before, "\(command) wrote \(dir.listing())")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.url.deletingLastPathComponent().appendingPathComponent("checkpoints").path))
    }

    /// Once a trap in `xmoe plan`: huge but valid values are planned, and `xmoe run` refuses them for
    /// memory before it launches a single rank or writes anything.
    @Test func hugeLayoutsPlanAndAreRefusedByRunBeforeLaunching() throws {
        let dir = try setUp()
        defer { dir.cleanup() }
        let before = dir.listing()
        let overrides = ["model.seq_length=1048576", "parallel.dp=65536"]
        let plan = try XMoEBinary.run(["plan", "exp.yaml"] + overrides, in: dir.url)
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("world 65536 = dp 65536"), "\(plan.stdout)")
        let run = try XMoEBinary.run(["run", "exp.yaml"] + overrides, in: dir.url)
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("does not fit: this machine: 65536 ranks need"), "\(run.stderr)")
        #expect(!run.stderr.contains("Fatal error"))
        #expect(dir.listing() == before, "run wrote \(dir.listing())")
    }

    /// A CRLF spec with a duplicate key (once a trap) and an unclosed flow mapping in an extended file.
    @Test func crlfDuplicateAndUnclosedMappingAreLocated() throws {
        let dir = try setUp()
        defer { dir.cleanup() }
        try Data("model:\r\n  layers: 1\r\n\r\n  layers: 2\r\n".utf8).write(to: dir.url.appendingPathComponent("crlf.yaml"))
        let crlf = try XMoEBinary.run(["plan", "crlf.yaml"], in: dir.url)
        expectRefused(crlf, location: "crlf.yaml:4:3", key: "model.layers", says: "duplicate key (first set at crlf.yaml:2:3)")

        try dir.write("child.yaml", "extends: base.yaml\n")
        try dir.write("base.yaml", "model:\n  layers: {a: 1\n  hidden: 16\n")
        let flow = try XMoEBinary.run(["config", "child.yaml"], in: dir.url)
        #expect(flow.status == 2)
        let says = flow.stderr.hasPrefix("base.yaml:3:9: error: YAML syntax:") && flow.stderr.contains("began at base.yaml:2:11")
        #expect(says, "\(flow.stderr)")

        var bad = Array("model:\n  layers: 1\n  hidden: ".utf8)
        bad += [0xFF, 0x0A]
        try Data(bad).write(to: dir.url.appendingPathComponent("base.yaml"))
        let utf8 = try XMoEBinary.run(["plan", "child.yaml"], in: dir.url)
        #expect(utf8.status == 2)
        #expect(utf8.stderr.hasPrefix("base.yaml:3:11: error: not valid UTF-8"), "\(utf8.stderr)")
    }

    /// A directory as the spec, for every command that reads one.
    @Test func directoryAsSpecSaysSo() throws {
        let dir = try setUp()
        defer { dir.cleanup() }
        try FileManager.default.createDirectory(at: dir.url.appendingPathComponent("specs"), withIntermediateDirectories: true)
        for command in ["config", "plan", "run", "sweep"] {
            let result = try XMoEBinary.run([command, "specs"], in: dir.url)
            #expect(result.status == 2, "\(command): \(result.stderr)")
            #expect(result.stderr.contains("cannot read spec file 'specs': it is a directory"), "\(command): \(result.stderr)")
        }
    }

    /// A directory as data.input, in prepare-data and in a run's prepare-data step: named, no Foundation text.
    @Test func directoryAsDataInputSaysSo() throws {
        let dir = try setUp()
        defer { dir.cleanup() }
        try FileManager.default.createDirectory(at: dir.url.appendingPathComponent("corpus.d"), withIntermediateDirectories: true)
        let prepare = try XMoEBinary.run(["prepare-data", "--input", "corpus.d", "--output-prefix", "out",
                                          "--vocab-file", "\(Self.root)/data/gpt2/vocab.json",
                                          "--merge-file", "\(Self.root)/data/gpt2/merges.txt"], in: dir.url)
        #expect(prepare.status == 1)
        #expect(prepare.stderr.contains("corpus.d: it is a directory"), "\(prepare.stderr)")
        let run = try XMoEBinary.run(["run", "exp.yaml", "data.input=corpus.d"], in: dir.url)
        #expect(run.status == 1)
        let output = run.stdout + run.stderr
        #expect(output.contains("corpus.d is a directory"), "\(output)")
        #expect(!output.contains("NSCocoaErrorDomain"), "\(output)")
    }

    /// Foundation's file errors come out with the path and the reason.
    @Test func fileErrorsAreReadable() throws {
        let dir = try setUp()
        defer { dir.cleanup() }
        try dir.write("plain-file", "x\n")
        let run = try XMoEBinary.run(["run", "exp.yaml", "output.dir=plain-file/runs"], in: dir.url)
        #expect(run.status == 1)
        #expect(run.stderr.contains("plain-file/runs'"), "\(run.stderr)")
        #expect(!run.stderr.contains("NSCocoaErrorDomain") && !run.stderr.contains("Code="), "\(run.stderr)")
    }

    /// A FIFO fed without end (and /dev/zero) as data.input stops at the 64 MiB line bound instead of
    /// growing memory; a FIFO as the spec stops at 16 MiB. A FIFO with a real corpus still prepares.
    @Test func endlessFifosAreBounded() throws {
        let dir = try setUp()
        defer { dir.cleanup() }
        signal(SIGPIPE, SIG_IGN)
        func feed(_ name: String, megabytes: Int, byte: UInt8) throws -> Thread {
            let path = dir.url.appendingPathComponent(name).path
            #expect(mkfifo(path, 0o600) == 0)
            let writer = Thread {
                let fd = open(path, O_WRONLY)
                guard fd >= 0 else { return }
                let block = [UInt8](repeating: byte, count: 1 << 20)
                for _ in 0..<megabytes where block.withUnsafeBytes({ write(fd, $0.baseAddress!, $0.count) }) > 0 {}
                close(fd)
            }
            writer.start()
            return writer
        }
        let prepareArguments = ["--output-prefix", "out", "--vocab-file", "\(Self.root)/data/gpt2/vocab.json",
                                "--merge-file", "\(Self.root)/data/gpt2/merges.txt"]
        _ = try feed("input.fifo", megabytes: 70, byte: UInt8(ascii: "x"))
        let fifo = try XMoEBinary.run(["prepare-data", "--input", "input.fifo"] + prepareArguments, in: dir.url)
        #expect(fifo.status == 1)
        #expect(fifo.stderr.contains("line 1 is longer than 64 MiB"), "\(fifo.stderr)")
        let zero = try XMoEBinary.run(["prepare-data", "--input", "/dev/zero"] + prepareArguments, in: dir.url)
        #expect(zero.status == 1)
        #expect(zero.stderr.contains("line 1 is longer than 64 MiB"), "\(zero.stderr)")

        _ = try feed("spec.fifo", megabytes: 17, byte: UInt8(ascii: "#"))
        let spec = try XMoEBinary.run(["config", "spec.fifo"], in: dir.url)
        #expect(spec.status == 2)
        #expect(spec.stderr.contains("larger than 16 MiB"), "\(spec.stderr)")

        let corpusPath = dir.url.appendingPathComponent("corpus.fifo").path
        #expect(mkfifo(corpusPath, 0o600) == 0)
        let corpus = try Data(contentsOf: dir.url.appendingPathComponent("corpus.jsonl"))
        let writer = Thread {
            let fd = open(corpusPath, O_WRONLY)
            guard fd >= 0 else { return }
            _ = corpus.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
            close(fd)
        }
        writer.start()
        let good = try XMoEBinary.run(["prepare-data", "--input", "corpus.fifo"] + prepareArguments, in: dir.url)
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout.contains("prepared 30 documents"), "\(good.stdout)")
    }

    /// A small model trained for very long needs a sample index larger than memory: plan says so and
    /// run refuses before preparing anything (once an allocation failure inside the train step).
    @Test func sampleIndexBeyondMemoryIsRefusedUpFront() throws {
        let dir = try setUp()
        defer { dir.cleanup() }
        let plan = try XMoEBinary.run(["plan", "--brief", "exp.yaml", "train.iters=100000000000"], in: dir.url)
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("sample index at least 4.4 TiB (2e+11 samples × 24 bytes)"), "\(plan.stdout)")
        let before = dir.listing()
        let run = try XMoEBinary.run(["run", "exp.yaml", "train.iters=100000000000"], in: dir.url)
        #expect(run.status == 1)
        #expect(run.stderr.contains("does not fit (mostly the sample index of 2e+11 samples: lower train.iters"), "\(run.stderr)")
        #expect(dir.listing() == before)
    }

    /// Dropout is accepted by `xmoe run` and trains (once refused at the train step).
    @Test func dropoutRunsThrough() throws {
        let dir = try setUp()
        defer { dir.cleanup() }
        let result = try XMoEBinary.run(["run", "exp.yaml", "model.dropout=0.1", "model.attention_dropout=0.1"], in: dir.url)
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("train: ran"), "\(result.stdout)")
    }
}
