import Foundation
import Testing
import XMoEModel
import XMoEStore
import XMoETrain

#if canImport(Glibc)
import Glibc
#endif

/// Exact resume after a real process death: the test binary re-launches itself running only
/// `childEntry`, which trains with checkpoints every 3 steps; the parent SIGKILLs it after the first
/// checkpoint, resumes in-process from `latest`, and compares with an uninterrupted run.
struct ResumeTests {
    static let dirVariable = "XMOE_TRAIN_TEST_CHILD_DIR"
    static let steps = 12

    static func trainer(_ dir: URL, steps runSteps: Int = steps) throws -> Trainer {
        var settings = Tiny.settings(steps: runSteps, checkpointEvery: 3, keep: 2)
        settings.schedule = LRSchedule(maxLR: 0.01, minLR: 0.001, warmup: 2, decayEnd: steps, decay: .cosine)
        // Dropout on: its masks derive from (seed, step, micro-step), so the resume stays bit-exact.
        let model = Tiny.model()
        model.dropout = DropoutRates(hidden: 0.1, attention: 0.1)
        return try Trainer(model: model, settings: settings, trainData: Tiny.randomData(),
                           validationData: Tiny.randomData(salt: 9), runDirectory: dir, specHash: "spec")
    }

    /// Does nothing in a normal test run; in the re-launched child it is the whole program.
    @Test func childEntry() throws {
        guard let dir = ProcessInfo.processInfo.environment[Self.dirVariable] else { return }
        // Slow steps, so the parent's kill lands mid-run.
        try Self.trainer(URL(fileURLWithPath: dir)).run { _ in usleep(60_000) }
        exit(99)  // reaching here means the kill did not happen
    }

    static let compared = ["/train/step", "/train/loss", "/train/lm_loss", "/train/aux_loss", "/train/lr",
                           "/train/grad_norm", "/train/skipped", "/eval/step", "/eval/loss", "/eval/perplexity",
                           "/moe/layer_01/dropped_fraction"]

    func series(_ url: URL) throws -> [String: [UInt64]] {
        let file = try StoreFile.open(at: url.path)
        defer { try? file.close() }
        var out: [String: [UInt64]] = [:]
        for name in Self.compared { out[name] = bits(try file.series(name, of: Double.self).readAll().values) }
        out["/moe/layer_01/tokens_per_expert"] = try file.series("/moe/layer_01/tokens_per_expert", of: Int64.self)
            .readAll().values.map { UInt64(bitPattern: $0) }
        return out
    }

    @Test func killedRunResumesBitIdentically() throws {
        let dir = try TemporaryDirectory()
        let reference = try Self.trainer(dir.url.appendingPathComponent("uninterrupted"))
        try reference.run()

        let runDir = dir.url.appendingPathComponent("killed")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["--testing-library", "swift-testing", "--filter", "ResumeTests/childEntry"]
        var environment = ProcessInfo.processInfo.environment
        environment[Self.dirVariable] = runDir.path
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let latest = runDir.appendingPathComponent("checkpoints/latest").path
        for _ in 0..<1200 where !FileManager.default.fileExists(atPath: latest) && process.isRunning { usleep(10_000) }
        usleep(UInt32.random(in: 0...150_000))  // an arbitrary moment: mid-step, mid-write or mid-checkpoint
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        #expect(process.terminationStatus == SIGKILL)

        let resumed = try Self.trainer(runDir)
        let from = try #require(try resumed.resume())
        #expect(from >= 3 && from < Self.steps)
        try resumed.run()
        #expect(Tiny.weights(resumed.model).map(bits) == Tiny.weights(reference.model).map(bits))
        let got = try series(resumed.metricsURL), want = try series(reference.metricsURL)
        #expect(want["/train/step"]?.count == Self.steps)
        for name in want.keys.sorted() { #expect(got[name] == want[name], "\(name)") }
    }

    /// Deterministic variant of the kill: rows for steps 4 and 5 exist past the checkpoint `latest`
    /// names (as when a run dies between a metrics write and its next checkpoint); resume must drop them.
    @Test func resumeDropsMetricsRowsPastTheCheckpoint() throws {
        let dir = try TemporaryDirectory()
        let reference = try Self.trainer(dir.url.appendingPathComponent("uninterrupted"))
        try reference.run()
        let runDir = dir.url.appendingPathComponent("partial")
        try Self.trainer(runDir, steps: 5).run()
        try "step_000003\n".write(to: runDir.appendingPathComponent("checkpoints/latest"), atomically: true, encoding: .utf8)
        let resumed = try Self.trainer(runDir)
        #expect(try resumed.resume() == 3)
        try resumed.run()
        #expect(Tiny.weights(resumed.model).map(bits) == Tiny.weights(reference.model).map(bits))
        let got = try series(resumed.metricsURL), want = try series(reference.metricsURL)
        for name in want.keys.sorted() { #expect(got[name] == want[name], "\(name)") }
    }
}
