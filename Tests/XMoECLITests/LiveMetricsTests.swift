import Foundation
import Testing

/// metrics.h5 read by other processes while `xmoe run` writes it, with their default settings (no
/// HDF5_USE_FILE_LOCKING): h5py's `File(path, "r")`, h5dump and `xmoe report`.
@Suite(.serialized) struct LiveMetricsTests {
    static let reader = """
        import sys, time, h5py
        path, deadline = sys.argv[1], time.time() + 600
        locked = 0
        while time.time() < deadline:
            try:
                with h5py.File(path, "r") as f:
                    rows = f["train/step"].shape[0]
                    if rows >= 3:
                        lengths = {f["train/" + k].shape[0] for k in f["train"]}
                        lengths.add(f["moe/layer_01/tokens_per_expert"].shape[0])
                        steps = f["train/step"][:].tolist()
                        assert lengths == {rows}, lengths
                        assert steps == [float(i + 1) for i in range(rows)], steps
                        print("rows", rows, f.attrs["run_name"], "xmoe", f.attrs["xmoe_version"])
                        sys.exit(0)
            except OSError:
                locked += 1  # absent yet, or an append is under way (HDF5's lock): try again
            time.sleep(0.05)
        print("timed out")
        sys.exit(1)
        """

    @Test func h5pyH5dumpAndReportReadARunningRun() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let root = XMoEBinary.repositoryRoot.path
        try dir.write("exp.yaml", """
            extends: \(root)/configs/quickstart.yaml
            name: live
            data:
              input: \(root)/data/corpus/kjv.jsonl.gz
              vocab_file: \(root)/data/gpt2/vocab.json
              merge_file: \(root)/data/gpt2/merges.txt
            """)
        var environment = ProcessInfo.processInfo.environment
        environment["HDF5_USE_FILE_LOCKING"] = nil
        // Long enough that it is still training when the readers are done; it is killed then.
        let training = Process()
        training.executableURL = URL(fileURLWithPath: XMoEBinary.path)
        training.arguments = ["run", "exp.yaml"] + TrainRunTests.overrides.filter { !$0.hasPrefix("train.iters") }
            + ["train.iters=5000", "train.save_interval=2", "train.eval_interval=2"]
        training.currentDirectoryURL = dir.url
        training.environment = environment
        training.standardOutput = FileHandle.nullDevice
        training.standardError = FileHandle.nullDevice
        try training.run()
        defer {
            if training.isRunning { kill(training.processIdentifier, SIGKILL) }
            training.waitUntilExit()
        }
        let metrics = dir.url.appendingPathComponent("runs/live/metrics.h5").path

        let h5py = Process()
        h5py.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        h5py.arguments = ["-c", Self.reader, metrics]
        h5py.environment = environment
        let pipe = Pipe()
        h5py.standardOutput = pipe
        h5py.standardError = pipe
        try h5py.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        h5py.waitUntilExit()
        #expect(h5py.terminationStatus == 0 && output.contains(" live xmoe "), "\(output)")

        // h5dump fails only if it opens during an append (HDF5's lock): a few tries suffice.
        var dumped = ""
        for _ in 0..<100 where !dumped.contains("DATASET \"/train/step\"") {
            let h5dump = Process()
            h5dump.executableURL = URL(fileURLWithPath: "/usr/bin/h5dump")
            h5dump.arguments = ["-d", "/train/step", metrics]
            h5dump.environment = environment
            let out = Pipe()
            h5dump.standardOutput = out
            h5dump.standardError = FileHandle.nullDevice
            try h5dump.run()
            dumped = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            h5dump.waitUntilExit()
            if h5dump.terminationStatus != 0 { dumped = ""; usleep(50_000) }
        }
        #expect(dumped.contains("DATASET \"/train/step\""), "h5dump never read the live file")

        let report = try XMoEBinary.run(["report", "runs/live"], in: dir.url, environment: environment)
        #expect(report.status == 0, "\(report.stderr)")
        #expect(report.stdout.contains("running"), "\(report.stdout)")
        let stillTraining = training.isRunning
        #expect(stillTraining, "the run ended before the readers were done; the test proves nothing")
        kill(training.processIdentifier, SIGKILL)
        training.waitUntilExit()

        // Provenance: the commit git itself names for this checkout, in --version, spec.resolved.yaml,
        // metrics.h5 and the checkpoint.
        let head = try Self.git(["rev-parse", "HEAD"])
        let dirty = !(try Self.git(["status", "--porcelain", "--untracked-files=no"])).isEmpty
        let commit = head + (dirty ? "-dirty" : "")
        let version = try XMoEBinary.run(["--version"], in: dir.url)
        #expect(version.stdout.hasPrefix("xmoe ") && version.stdout.contains("(commit \(commit))"), "\(version.stdout)")
        let resolved = try String(contentsOf: dir.url.appendingPathComponent("runs/live/spec.resolved.yaml"), encoding: .utf8)
        #expect(resolved.hasPrefix("# written by xmoe ") && resolved.contains("commit \(commit)\n"), "\(resolved.prefix(200))")
        let stamps = try Python.run("""
            import sys, h5py
            m = h5py.File(sys.argv[1] + "/metrics.h5", "r")
            latest = open(sys.argv[1] + "/checkpoints/latest").read().strip()
            c = h5py.File(sys.argv[1] + "/checkpoints/" + latest + "/rank_00000.h5", "r")
            print(m.attrs["xmoe_commit"], c.attrs["xmoe_commit"], m.attrs["spec_hash"] == c.attrs["spec_hash"],
                  m.attrs["xmoe_version"] == c.attrs["xmoe_version"])
            """, [dir.url.appendingPathComponent("runs/live").path])
        #expect(stamps.output.trimmingCharacters(in: .whitespacesAndNewlines) == "\(commit) \(commit) True True", "\(stamps.output)")
    }

    static func git(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", XMoEBinary.repositoryRoot.path] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
