import Foundation
import Testing

@testable import XMoEPipeline

#if canImport(Glibc)
import Glibc
#endif

/// Real process deaths: the test binary re-launches itself running only `childEntry`, which runs a
/// pipeline whose `train` step dies mid-write (SIGKILL) or is sent SIGTERM by the parent.
struct InterruptTests {
    static let modeVariable = "XMOE_PIPELINE_TEST_CHILD_MODE"
    static let dirVariable = "XMOE_PIPELINE_TEST_CHILD_DIR"

    /// write-lines ──▶ train; `train` writes half its output under the temporary name, then `crash`.
    /// With `sharedTrain`, train is a shared step whose entry lives in `<root>/cache`.
    static func pipeline(root: URL, sharedTrain: Bool = false, crash: (@Sendable () -> Void)?) throws -> Pipeline {
        let write = Step(name: "write-lines", inputs: ["lines.count": "2"], formatVersion: "1") { context in
            let temporary = try context.temporaryURL(for: "data/lines.txt")
            try "a\nb\n".write(to: temporary, atomically: false, encoding: .utf8)
            try context.commit("data/lines.txt")
            return StepOutputs(files: ["lines": "data/lines.txt"])
        }
        let train = Step(
            name: "train", upstream: ["write-lines"], inputs: ["model.hidden": "8"], formatVersion: "1",
            shared: sharedTrain
        ) { context in
            let temporary = try context.temporaryURL(for: "model/weights.txt")
            try "partial weights\n".write(to: temporary, atomically: false, encoding: .utf8)
            crash?()
            try "all weights\n".write(to: temporary, atomically: false, encoding: .utf8)
            try context.commit("model/weights.txt")
            return StepOutputs(files: ["weights": "model/weights.txt"])
        }
        return try Pipeline(
            steps: [write, train], runDirectory: RunDirectory(root: root.appendingPathComponent("run")),
            sharedCache: sharedTrain ? StepCache(root: root.appendingPathComponent("cache")) : nil)
    }

    /// Does nothing in a normal test run; in the re-launched child it is the whole program.
    @Test func childEntry() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let mode = environment[Self.modeVariable], let dir = environment[Self.dirVariable] else { return }
        let root = URL(fileURLWithPath: dir)
        let ready = root.appendingPathComponent("ready")
        switch mode {
        case "sigkill":
            try Self.pipeline(root: root) { kill(getpid(), SIGKILL) }.run()
        case "sigterm", "sigterm-shared":
            InterruptHandler.install()
            try Self.pipeline(root: root, sharedTrain: mode == "sigterm-shared") {
                _ = FileManager.default.createFile(atPath: ready.path, contents: Data())
                for _ in 0..<200 { usleep(100_000) }  // the parent's SIGTERM ends this
            }.run()
        case "hold-run-lock":
            let lock = try RunDirectory(root: root.appendingPathComponent("run")).lock()
            _ = FileManager.default.createFile(atPath: ready.path, contents: Data())
            for _ in 0..<200 { usleep(100_000) }  // the parent's SIGKILL ends this
            lock.release()
        default:
            Issue.record("unknown child mode \(mode)")
        }
        exit(99)  // reaching here means the crash did not happen
    }

    private func launchChild(mode: String, dir: TemporaryDirectory) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["--testing-library", "swift-testing", "--filter", "InterruptTests/childEntry"]
        var environment = ProcessInfo.processInfo.environment
        environment[Self.modeVariable] = mode
        environment[Self.dirVariable] = dir.url.path
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Both deaths must leave: write-lines complete; train not complete, with no final output and its
    /// half-written file only under the temporary name; and a plan that reruns train alone.
    private func expectInterruptedTrain(in dir: TemporaryDirectory, expectedStatus: StepStatus) throws -> Pipeline {
        let pipeline = try Self.pipeline(root: dir.url, crash: nil)
        let run = pipeline.runDirectory
        #expect(try run.readRecord(step: "write-lines")?.status == .complete)
        let train = try #require(try run.readRecord(step: "train"))
        #expect(train.status == expectedStatus)
        #expect(train.outputs == nil)
        #expect(!FileManager.default.fileExists(atPath: run.root.appendingPathComponent("model/weights.txt").path))
        #expect(try readText(run.root.appendingPathComponent("model/weights.txt.partial")) == "partial weights\n")
        let plans = try pipeline.plan()
        #expect(plans[0].status == .upToDate)
        #expect(plans[1].status == .willRerun)
        return pipeline
    }

    private func expectRecovery(_ pipeline: Pipeline) throws {
        let report = try pipeline.run()
        #expect(report.outcomes.map(\.result) == [.skipped, .ran])
        let root = pipeline.runDirectory.root
        #expect(try readText(root.appendingPathComponent("model/weights.txt")) == "all weights\n")
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("model/weights.txt.partial").path))
    }

    @Test func sigkillLeavesRunningRecordThatPlanCallsInterrupted() throws {
        let dir = try TemporaryDirectory()
        let child = try launchChild(mode: "sigkill", dir: dir)
        child.waitUntilExit()
        #expect(child.terminationReason == .uncaughtSignal)
        #expect(child.terminationStatus == SIGKILL)

        let pipeline = try expectInterruptedTrain(in: dir, expectedStatus: .running)
        let started = try #require(try pipeline.runDirectory.readRecord(step: "train")?.startedAt)
        #expect(try pipeline.plan()[1].reason == "previous run did not complete (interrupted: started at "
            + "\(isoTimestamp(started)), no finish was recorded)")
        try expectRecovery(pipeline)
    }

    /// Waits (at most 30 s) for the child to create `ready`.
    private func waitUntilReady(_ child: Process, dir: TemporaryDirectory) {
        let ready = dir.url.appendingPathComponent("ready").path
        for _ in 0..<600 where !FileManager.default.fileExists(atPath: ready) && child.isRunning {
            usleep(50_000)
        }
        #expect(FileManager.default.fileExists(atPath: ready))
    }

    @Test func sigtermIsRecordedAsInterruptedAndExits143() throws {
        let dir = try TemporaryDirectory()
        let child = try launchChild(mode: "sigterm", dir: dir)
        waitUntilReady(child, dir: dir)
        kill(child.processIdentifier, SIGTERM)
        child.waitUntilExit()
        #expect(child.terminationReason == .exit)
        #expect(child.terminationStatus == 128 + SIGTERM)

        let pipeline = try expectInterruptedTrain(in: dir, expectedStatus: .interrupted)
        let record = try #require(try pipeline.runDirectory.readRecord(step: "train"))
        #expect(record.error == "interrupted by SIGTERM")
        let finished = try #require(record.finishedAt)
        #expect(try pipeline.plan()[1].reason
            == "previous run did not complete (interrupted at \(isoTimestamp(finished)))")
        try expectRecovery(pipeline)
    }

    @Test func sigtermMarksTheSharedEntryAndTheRunRecordInterrupted() throws {
        let dir = try TemporaryDirectory()
        let child = try launchChild(mode: "sigterm-shared", dir: dir)
        waitUntilReady(child, dir: dir)
        kill(child.processIdentifier, SIGTERM)
        child.waitUntilExit()
        #expect(child.terminationStatus == 128 + SIGTERM)

        let pipeline = try Self.pipeline(root: dir.url, sharedTrain: true, crash: nil)
        let entry = try #require(pipeline.cacheEntry(of: pipeline.steps[1]))
        let entryRecord = try #require(try entry.readRecord())
        let runRecord = try #require(try pipeline.runDirectory.readRecord(step: "train"))
        for record in [entryRecord, runRecord] {
            #expect(record.status == .interrupted)
            #expect(record.error == "interrupted by SIGTERM")
        }
        #expect(runRecord.cacheEntry == entry.directory.path)
        #expect(try readText(entry.directory.appendingPathComponent("model/weights.txt.partial")) == "partial weights\n")
        let finished = try #require(entryRecord.finishedAt)
        #expect(try pipeline.plan()[1].reason
            == "previous run did not complete (interrupted at \(isoTimestamp(finished)))")
        #expect(try pipeline.run().outcomes.map(\.result) == [.skipped, .ran])
        #expect(try readText(entry.directory.appendingPathComponent("model/weights.txt")) == "all weights\n")
    }

    /// The run-directory lock of another live process is refused naming its pid, and dies with it.
    @Test func runLockOfAnotherProcessIsRefusedUntilItDies() throws {
        let dir = try TemporaryDirectory()
        let child = try launchChild(mode: "hold-run-lock", dir: dir)
        waitUntilReady(child, dir: dir)
        let run = RunDirectory(root: dir.url.appendingPathComponent("run"))
        #expect(throws: PipelineError.runDirectoryInUse(path: run.root.path, pid: child.processIdentifier)) {
            try run.lock()
        }
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        let lock = try run.lock()
        lock.release()
    }
}
