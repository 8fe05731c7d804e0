import Foundation
import Testing

@testable import XMoEPipeline

struct PipelineRunTests {
    @Test func firstRunRunsEverythingThenSecondRunSkips() throws {
        let dir = try TemporaryDirectory()
        let pipeline = try LinePipeline().make(in: dir)
        let log = LinePipeline.log(in: dir)

        #expect(summary(try pipeline.plan()) == [
            "write-lines: will run: never run",
            "count-lines: will run: never run",
            "report: will run: never run",
            "notes: will run: never run",
        ])
        let first = try pipeline.run()
        #expect(first.succeeded)
        #expect(first.outcomes.map(\.result) == [.ran, .ran, .ran, .ran])
        #expect(log.entries() == ["write-lines", "count-lines", "report", "notes"])
        let root = pipeline.runDirectory.root
        #expect(try readText(root.appendingPathComponent("data/lines.txt")) == "line 0\nline 1\nline 2\n")
        #expect(try readText(root.appendingPathComponent("stats/count.txt")) == "3\n")
        #expect(try readText(root.appendingPathComponent("report.txt")) == "lines: 3\n")

        log.clear()
        let again = try LinePipeline().make(in: dir)
        let plans = try again.plan()
        #expect(plans.allSatisfy { $0.status == .upToDate })
        for plan in plans {
            let finished = try #require(plan.previous?.finishedAt)
            #expect(plan.reason == "unchanged since \(isoTimestamp(finished))")
        }
        let second = try again.run()
        #expect(second.outcomes.map(\.result) == [.skipped, .skipped, .skipped, .skipped])
        #expect(log.entries().isEmpty)
    }

    @Test func changedInputRerunsThatStepAndItsDependentsOnly() throws {
        let dir = try TemporaryDirectory()
        try LinePipeline(lineCount: 3).make(in: dir).run()
        let log = LinePipeline.log(in: dir)
        log.clear()

        let changed = try LinePipeline(lineCount: 5).make(in: dir)
        let plans = try changed.plan()
        #expect(summary(plans)[0...2] == [
            "write-lines: will rerun: lines.count changed: 3 → 5",
            "count-lines: will rerun: upstream write-lines will rerun",
            "report: will rerun: upstream count-lines will rerun",
        ])
        #expect(plans[3].status == .upToDate)
        try changed.run()
        #expect(log.entries() == ["write-lines", "count-lines", "report"])
        #expect(try readText(changed.runDirectory.root.appendingPathComponent("report.txt")) == "lines: 5\n")
        let record = try #require(try changed.runDirectory.readRecord(step: "count-lines"))
        #expect(record.reason == "upstream write-lines will rerun")
        #expect(record.outputs?.facts == ["lines": "5"])
    }

    @Test func addedAndRemovedInputsAreNamed() throws {
        let dir = try TemporaryDirectory()
        try LinePipeline().make(in: dir).run()

        let added = try LinePipeline(extraInputs: ["data.input": "a.jsonl"]).make(in: dir)
        #expect(try added.plan()[0].reason == "data.input added")
        try added.run()

        let changedTwice = try LinePipeline(prefix: "row", extraInputs: ["data.input": "b.jsonl"]).make(in: dir)
        #expect(try changedTwice.plan()[0].reason == "data.input changed: a.jsonl → b.jsonl; lines.prefix changed: line → row")

        let removed = try LinePipeline().make(in: dir)
        #expect(try removed.plan()[0].reason == "data.input removed")
    }

    @Test func formatVersionChangeRerunsTheStepAndDownstream() throws {
        let dir = try TemporaryDirectory()
        try LinePipeline().make(in: dir).run()
        let bumped = try LinePipeline(countFormatVersion: "2").make(in: dir)
        #expect(summary(try bumped.plan())[1...2] == [
            "count-lines: will rerun: format version changed: 1 → 2",
            "report: will rerun: upstream count-lines will rerun",
        ])
        #expect(try bumped.plan()[0].status == .upToDate)
    }

    @Test func upstreamChangedInAnotherRunIsExplained() throws {
        // write-lines reran on its own (as `xmoe prepare-data` would), so count-lines' recorded key is stale.
        let dir = try TemporaryDirectory()
        try LinePipeline(lineCount: 3).make(in: dir).run()
        let five = try LinePipeline(lineCount: 5).make(in: dir)
        let writeOnly = try Pipeline(steps: [five.steps[0]], runDirectory: five.runDirectory)
        try writeOnly.run()
        #expect(summary(try five.plan())[0...1] == [
            "write-lines: up-to-date: unchanged since \(isoTimestamp(try five.runDirectory.readRecord(step: "write-lines")!.finishedAt!))",
            "count-lines: will rerun: upstream write-lines changed since this step ran",
        ])
    }

    @Test func failingStepIsRecordedAndBlocksOnlyItsDependents() throws {
        let dir = try TemporaryDirectory()
        let log = LinePipeline.log(in: dir)
        let failing = try LinePipeline(countFailure: "tokenizer table not found").make(in: dir)
        let report = try failing.run()
        #expect(!report.succeeded)
        #expect(report.outcomes == [
            StepOutcome(step: "write-lines", result: .ran, detail: "never run"),
            StepOutcome(step: "count-lines", result: .failed, detail: "tokenizer table not found"),
            StepOutcome(step: "report", result: .notRun, detail: "upstream count-lines failed"),
            StepOutcome(step: "notes", result: .ran, detail: "never run"),
        ])
        #expect(log.entries() == ["write-lines", "count-lines", "notes"])
        let record = try #require(try failing.runDirectory.readRecord(step: "count-lines"))
        #expect(record.status == .failed)
        #expect(record.error == "tokenizer table not found")
        #expect(record.outputs == nil)
        #expect(record.finishedAt != nil)
        #expect(try failing.runDirectory.readRecord(step: "report") == nil)

        log.clear()
        let fixed = try LinePipeline().make(in: dir)
        #expect(summary(try fixed.plan())[1...2] == [
            "count-lines: will rerun: previous run failed: tokenizer table not found",
            "report: will run: never run",
        ])
        #expect(try fixed.run().succeeded)
        #expect(log.entries() == ["count-lines", "report"])
        #expect(try fixed.runDirectory.readRecord(step: "count-lines")?.status == .complete)
    }

    @Test func deletedOutputTriggersRerun() throws {
        let dir = try TemporaryDirectory()
        let pipeline = try LinePipeline().make(in: dir)
        try pipeline.run()
        try FileManager.default.removeItem(at: pipeline.runDirectory.root.appendingPathComponent("data/lines.txt"))
        #expect(summary(try pipeline.plan())[0...2] == [
            "write-lines: will rerun: output lines (data/lines.txt) is missing",
            "count-lines: will rerun: upstream write-lines will rerun",
            "report: will rerun: upstream count-lines will rerun",
        ])
        try pipeline.run()
        #expect(FileManager.default.fileExists(atPath: pipeline.runDirectory.root.appendingPathComponent("data/lines.txt").path))
    }

    @Test func uncommittedOutputFailsTheStep() throws {
        let dir = try TemporaryDirectory()
        let pipeline = try LinePipeline(countCommits: false).make(in: dir)
        let report = try pipeline.run()
        let outcome = try #require(report.outcome(of: "count-lines"))
        #expect(outcome.result == .failed)
        let final = pipeline.runDirectory.root.appendingPathComponent("stats/count.txt").path
        #expect(outcome.detail == "step 'count-lines' reported output 'count' at \(final), but no file is there; "
            + "write it under context.temporaryURL(for:) and call context.commit(_:)")
        #expect(FileManager.default.fileExists(atPath: final + ".partial"))
    }

    @Test func runningRecordIsReportedAsInterrupted() throws {
        // What a SIGKILLed runner leaves: the record it wrote before the body started.
        let dir = try TemporaryDirectory()
        let pipeline = try LinePipeline().make(in: dir)
        try pipeline.run()
        let started = Date(timeIntervalSince1970: 1_790_000_000)
        var record = try #require(try pipeline.runDirectory.readRecord(step: "count-lines"))
        record.status = .running
        record.startedAt = started
        record.finishedAt = nil
        record.outputs = nil
        try pipeline.runDirectory.writeRecord(record)
        #expect(summary(try pipeline.plan())[1] == "count-lines: will rerun: previous run did not complete "
            + "(interrupted: started at \(isoTimestamp(started)), no finish was recorded)")
    }

    @Test func recordIsAtomicJSONWithTheFieldsUsersRead() throws {
        let dir = try TemporaryDirectory()
        let pipeline = try LinePipeline().make(in: dir)
        try pipeline.run()
        let steps = pipeline.runDirectory.stepsDirectory
        #expect(try FileManager.default.contentsOfDirectory(atPath: steps.path).sorted() == [
            "count-lines.json", "notes.json", "report.json", "write-lines.json",
        ])
        let data = try Data(contentsOf: steps.appendingPathComponent("write-lines.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["status"] as? String == "complete")
        #expect(json["key"] as? String == pipeline.keys["write-lines"])
        #expect(json["reason"] as? String == "never run")
        #expect(json["format_version"] as? String == "1")
        #expect(json["inputs"] as? [String: String] == ["lines.count": "3", "lines.prefix": "line"])
        #expect((json["started_at"] as? String)?.hasSuffix("Z") == true)
        #expect(json["duration_seconds"] is Double)
        let outputs = try #require(json["outputs"] as? [String: Any])
        #expect(outputs["files"] as? [String: String] == ["lines": "data/lines.txt"])
        #expect(outputs["facts"] as? [String: String] == ["count": "3"])
        let count = try #require(try pipeline.runDirectory.readRecord(step: "count-lines"))
        #expect(count.upstreamKeys == ["write-lines": pipeline.keys["write-lines"]!])
    }

    @Test func corruptRecordNamesTheFileAndTheFix() throws {
        let dir = try TemporaryDirectory()
        let pipeline = try LinePipeline().make(in: dir)
        let url = pipeline.runDirectory.recordURL(step: "write-lines")
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try "{ not json".write(to: url, atomically: true, encoding: .utf8)
        #expect {
            try pipeline.plan()
        } throws: { error in
            "\(error)".hasPrefix("cannot read step record \(url.path):")
                && "\(error)".hasSuffix("delete it to make the step run again")
        }
    }

    @Test func stepProgressReachesTheReporter() throws {
        let dir = try TemporaryDirectory()
        let step = Step(name: "work", inputs: ["n": "2"], formatVersion: "1") { context in
            context.progress(0.5, "half")
            context.progress(1, "all")
            return StepOutputs()
        }
        let reporter = RecordingReporter()
        let pipeline = try Pipeline(steps: [step], runDirectory: RunDirectory(root: dir.url))
        try pipeline.run(reporter: reporter)
        try pipeline.run(reporter: reporter)
        #expect(reporter.events[0] == "started work: never run")
        #expect(reporter.events[1...2] == ["progress work 0.5 half", "progress work 1.0 all"])
        #expect(reporter.events[3].hasPrefix("finished work"))
        #expect(reporter.events[4].hasPrefix("skipped work: unchanged since "))
    }
}

final class RecordingReporter: ProgressReporter, @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []

    var events: [String] {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    private func add(_ event: String) {
        lock.lock()
        stored.append(event)
        lock.unlock()
    }

    func stepStarted(_ step: String, reason: String) { add("started \(step): \(reason)") }
    func stepFinished(_ step: String, durationSeconds: Double) { add("finished \(step)") }
    func stepSkipped(_ step: String, reason: String) { add("skipped \(step): \(reason)") }
    func progress(_ step: String, fraction: Double?, message: String) {
        add("progress \(step) \(fraction.map { "\($0)" } ?? "-") \(message)")
    }
}

struct PlanTableTests {
    @Test func columnsAlign() throws {
        let dir = try TemporaryDirectory()
        try LinePipeline(lineCount: 3).make(in: dir).run()
        let plans = try LinePipeline(lineCount: 4).make(in: dir).plan()
        let notesFinished = isoTimestamp(try #require(plans[3].previous?.finishedAt))
        #expect(PlanTable.render(plans) == """
            write-lines  will rerun  lines.count changed: 3 → 4
            count-lines  will rerun  upstream write-lines will rerun
            report       will rerun  upstream count-lines will rerun
            notes        up-to-date  unchanged since \(notesFinished)

            """)
    }
}

struct PipelineSelectionTests {
    @Test func restrictedRunsOnlyTheStepAndItsUpstream() throws {
        let dir = try TemporaryDirectory()
        let full = try LinePipeline().make(in: dir)
        let countOnly = try full.restricted(to: ["count-lines"])
        #expect(countOnly.steps.map(\.name) == ["write-lines", "count-lines"])
        #expect(countOnly.keys["count-lines"] == full.keys["count-lines"])
        try countOnly.run()
        #expect(LinePipeline.log(in: dir).entries() == ["write-lines", "count-lines"])
        #expect(try full.plan().map(\.status) == [.upToDate, .upToDate, .willRun, .willRun])
        #expect(throws: PipelineError.unknownStep("count", known: ["write-lines", "count-lines", "report", "notes"])) {
            try full.restricted(to: ["count"])
        }
    }

    @Test func forcedStepRerunsWithItsDependents() throws {
        let dir = try TemporaryDirectory()
        let pipeline = try LinePipeline().make(in: dir)
        try pipeline.run()
        #expect(summary(try pipeline.plan(forcing: ["count-lines"]))[1...2] == [
            "count-lines: will rerun: forced",
            "report: will rerun: upstream count-lines will rerun",
        ])
        let log = LinePipeline.log(in: dir)
        log.clear()
        try pipeline.run(forcing: ["count-lines"])
        #expect(log.entries() == ["count-lines", "report"])
    }
}
