import Foundation
import Testing
import XMoETrain

/// The event files as TensorBoard itself reads them (PyPI `tensorboard`, installed by scripts/setup.sh
/// into a virtual environment beside Debian's h5py), checked against metrics.h5 read with h5py.
@Suite struct TensorBoardTests {
    /// scripts/setup.sh's environment: `tensorboard` over the system site packages (h5py, numpy).
    static let python = (ProcessInfo.processInfo.environment["XDG_CACHE_HOME"]
        ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache").path)
        + "/xmoe/tensorboard-venv/bin/python"

    func run(_ script: String, _ arguments: [String]) throws -> (output: String, status: Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments = ["-c", script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (String(decoding: data, as: UTF8.self), process.terminationStatus)
    }

    static let check = """
        import sys, glob, math, h5py
        from tensorboard.backend.event_processing import event_accumulator, event_file_loader
        from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
        import struct
        run = sys.argv[1]
        files = glob.glob(run + "/tensorboard/events.out.tfevents.*")
        assert len(files) == 1, files
        # Every record's two checksums, against TensorBoard's own masked CRC-32C.
        data = open(files[0], "rb").read()
        pos = records = 0
        while pos < len(data):
            header = data[pos:pos + 8]
            (length,) = struct.unpack("<Q", header)
            assert struct.unpack("<I", data[pos + 8:pos + 12])[0] == masked_crc32c(header)
            body = data[pos + 12:pos + 12 + length]
            assert struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])[0] == masked_crc32c(body)
            pos += 16 + length
            records += 1
        first = next(iter(event_file_loader.EventFileLoader(files[0]).Load()))
        assert first.file_version == "brain.Event:2", first
        acc = event_accumulator.EventAccumulator(run + "/tensorboard", size_guidance={"scalars": 0})
        acc.Reload()
        f = h5py.File(run + "/metrics.h5", "r")
        def same(tag, steps, values):
            events = acc.Scalars(tag)
            assert [e.step for e in events] == [int(s) for s in steps], (tag, [e.step for e in events], steps)
            for e, v in zip(events, values):
                # TensorBoard stores float32.
                assert abs(e.value - v) <= 1e-6 * max(1.0, abs(v)), (tag, e.value, v)
        steps = f["train/step"][:]
        for name in ["loss", "lm_loss", "aux_loss", "z_loss", "lr", "grad_norm", "tokens_per_s"]:
            same("train/" + name, steps, f["train/" + name][:])
        same("eval/loss", f["eval/step"][:], f["eval/loss"][:])
        counts = f["moe/layer_01/tokens_per_expert"][:]
        imbalance = [row.max() / row.mean() for row in counts]
        dead = [float(sum(1 for c in row if c < 0.1 * row.mean())) for row in counts]
        same("moe/layer_01/load_imbalance", steps, imbalance)
        same("moe/layer_01/dead_experts", steps, dead)
        same("moe/layer_01/dropped_fraction", steps, f["moe/layer_01/dropped_fraction"][:])
        print("ok", records, len(steps), sorted(acc.Tags()["scalars"]))
        """

    @Test func eventFilesMatchMetricsAsTensorBoardReadsThem() throws {
        let dir = try TemporaryDirectory()
        var settings = Tiny.settings(steps: 6)
        settings.tensorboard = true
        let trainer = try Trainer(model: Tiny.model(), settings: settings, trainData: Tiny.randomData(),
                                  validationData: Tiny.randomData(salt: 9), runDirectory: dir.url, specHash: "h")
        try trainer.run()
        try #require(FileManager.default.fileExists(atPath: Self.python),
                     "\(Self.python) is missing: run scripts/setup.sh (it installs PyPI tensorboard there)")
        let result = try run(Self.check, [dir.url.path])
        // Version event + 6 steps.
        #expect(result.status == 0 && result.output.hasPrefix("ok 7 6 "), "\(result.output)")
    }

    /// A resumed run writes a second event file starting with SessionLog START at the resumed step:
    /// TensorBoard drops the first session's steps after the checkpoint, so every step shows once,
    /// with the values metrics.h5 keeps.
    @Test func resumedRunShowsEachStepOnce() throws {
        let dir = try TemporaryDirectory()
        var settings = Tiny.settings(steps: 6, checkpointEvery: 3)
        settings.tensorboard = true
        let first = try Trainer(model: Tiny.model(), settings: settings, trainData: Tiny.randomData(),
                                validationData: Tiny.randomData(salt: 9), runDirectory: dir.url, specHash: "h")
        try first.run()
        // Roll back to the step-3 checkpoint as a kill after it would leave things, then resume.
        try "step_000003\n".write(to: dir.url.appendingPathComponent("checkpoints/latest"), atomically: true, encoding: .utf8)
        let second = try Trainer(model: Tiny.model(), settings: settings, trainData: Tiny.randomData(salt: 4),
                                 validationData: Tiny.randomData(salt: 9), runDirectory: dir.url, specHash: "h")
        #expect(try second.resume() == 3)
        try second.run()
        let script = """
            import sys, h5py
            from tensorboard.backend.event_processing import event_accumulator
            acc = event_accumulator.EventAccumulator(sys.argv[1] + "/tensorboard", size_guidance={"scalars": 0})
            acc.Reload()
            f = h5py.File(sys.argv[1] + "/metrics.h5", "r")
            events = acc.Scalars("train/loss")
            print([e.step for e in events], all(abs(e.value - v) <= 1e-6 * abs(v) for e, v in zip(events, f["train/loss"][:])))
            """
        let result = try run(script, [dir.url.path])
        // TensorBoard logs the purge it did ("Purging expired events…") before the printed line.
        let last = result.output.split(separator: "\n").last.map(String.init) ?? ""
        #expect(result.output.contains("Purging expired events"), "\(result.output)")
        #expect(last == "[1, 2, 3, 4, 5, 6] True", "\(result.output)")
    }
}
