import Foundation
import Testing

/// `xmoe run` end to end on a tiny model: data, training, metrics, checkpoints, and exact resume after SIGKILL.
@Suite(.serialized) struct TrainRunTests {
    static let overrides = ["model.hidden=32", "model.heads=2", "model.ffn_hidden=64", "model.seq_length=16",
                            "moe.expert_ffn_hidden=32", "train.micro_batch=2", "train.iters=16", "train.warmup_iters=2",
                            "train.lr=0.01", "train.min_lr=0.001", "train.eval_interval=8", "train.eval_iters=2",
                            "train.save_interval=4", "train.threads=1", "data.workers=1",
                            // the quickstart fixes 8 sequences a step; these tiny runs keep micro_batch·dp
                            "train.global_batch=null"]

    func setUp() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory()
        let root = XMoEBinary.repositoryRoot.path
        try dir.write("exp.yaml", """
            extends: \(root)/configs/quickstart.yaml
            name: tiny
            data:
              input: \(root)/data/corpus/kjv.jsonl.gz
              vocab_file: \(root)/data/gpt2/vocab.json
              merge_file: \(root)/data/gpt2/merges.txt
            """)
        return dir
    }

    /// Reads a metrics series with h5py (an independent HDF5 reader).
    func series(_ file: URL, _ path: String) throws -> [Double] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", "import h5py,sys; f=h5py.File(sys.argv[1],'r'); print(' '.join(repr(float(x)) for x in f[sys.argv[2]][()]))",
                             file.path, path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Double($0) }
    }

    @Test func trainsWithFallingLossAndSkipsWhenDone() throws {
        let dir = try setUp()
        defer { dir.cleanup() }
        let run = try XMoEBinary.run(["run", "exp.yaml"] + Self.overrides, in: dir.url)
        #expect(run.status == 0, "\(run.stderr)")
        let metrics = dir.url.appendingPathComponent("runs/tiny/metrics.h5")
        let loss = try series(metrics, "/train/loss")
        #expect(loss.count == 16)
        let first = loss.prefix(3).reduce(0, +) / 3, last = loss.suffix(3).reduce(0, +) / 3
        #expect(last < first - 1.0, "loss did not fall: \(loss)")
        #expect(try series(metrics, "/eval/step") == [8, 16])
        let latest = try String(contentsOf: dir.url.appendingPathComponent("runs/tiny/checkpoints/latest"), encoding: .utf8)
        #expect(latest.contains("step_000016"))
        let again = try XMoEBinary.run(["run", "exp.yaml"] + Self.overrides, in: dir.url)
        #expect(again.stdout.contains("train: skipped"), "\(again.stdout)")
    }

    /// SIGKILL the run after a checkpoint, run the same command again: it resumes and ends bit-identical.
    @Test func killedRunResumesBitIdentically() throws {
        let reference = try setUp(), killed = try setUp()
        defer { reference.cleanup(); killed.cleanup() }
        #expect(try XMoEBinary.run(["run", "exp.yaml"] + Self.overrides, in: reference.url).status == 0)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: XMoEBinary.path)
        process.arguments = ["run", "exp.yaml"] + Self.overrides
        process.currentDirectoryURL = killed.url
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let latest = killed.url.appendingPathComponent("runs/tiny/checkpoints/latest")
        let deadline = Date().addingTimeInterval(300)
        // Kill at some moment after the first checkpoint is complete (training goes on meanwhile).
        while process.isRunning, Date() < deadline, !FileManager.default.fileExists(atPath: latest.path) {
            usleep(20_000)
        }
        usleep(UInt32.random(in: 0...300_000))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal, "the run finished before it could be killed")

        let plan = try XMoEBinary.run(["plan", "--brief", "exp.yaml"] + Self.overrides, in: killed.url)
        #expect(plan.stdout.contains("train         will rerun  continues from step "), "\(plan.stdout)")
        #expect(plan.stdout.contains("; previous run did not complete"), "\(plan.stdout)")
        let resumed = try XMoEBinary.run(["run", "exp.yaml"] + Self.overrides, in: killed.url)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resumed from the checkpoint of step"), "\(resumed.stderr)")

        for path in ["/train/loss", "/train/grad_norm", "/train/lr", "/eval/loss"] {
            let a = try series(reference.url.appendingPathComponent("runs/tiny/metrics.h5"), path)
            let b = try series(killed.url.appendingPathComponent("runs/tiny/metrics.h5"), path)
            #expect(a == b && !a.isEmpty, "\(path) differs:\n\(a)\n\(b)")
        }
        // Every parameter and AdamW moment of the final checkpoint, compared exactly with h5py.
        let compare = Process()
        compare.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        compare.arguments = ["-c", """
            import h5py, numpy, sys
            a = h5py.File(sys.argv[1], 'r'); b = h5py.File(sys.argv[2], 'r'); n = 0
            def visit(name, obj):
                global n
                if isinstance(obj, h5py.Dataset):
                    assert numpy.array_equal(obj[()], b[name][()]), name
                    n += 1
            a.visititems(visit); assert n > 10; print('identical', n)
            """,
            reference.url.appendingPathComponent("runs/tiny/checkpoints/step_000016/rank_00000.h5").path,
            killed.url.appendingPathComponent("runs/tiny/checkpoints/step_000016/rank_00000.h5").path]
        let pipe = Pipe()
        compare.standardOutput = pipe
        try compare.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        compare.waitUntilExit()
        #expect(compare.terminationStatus == 0 && output.hasPrefix("identical"), "\(output)")
    }
}
