import Foundation
import Testing

@testable import XMoEPipeline

struct SharedStepTests {
    @Test func secondRunReusesTheEntryAndReadsTheSameFiles() throws {
        let layout = SharedLayout(dir: try TemporaryDirectory())
        let counter = ExecutionCounter()
        let first = try SharedPipeline().make(cache: layout.cache, run: layout.run("p0"), counter: counter)
        #expect(try first.run().outcomes.map(\.result) == [.ran, .ran])

        let entry = layout.entry(first)
        let tokens = entry.appendingPathComponent("data/tokens.txt")
        #expect(try readText(tokens) == SharedPipeline.tokens(of: "a.jsonl"))
        #expect(!FileManager.default.fileExists(atPath: layout.run("p0").appendingPathComponent("data").path))
        let entryRecord = try #require(try RecordFile.read(entry.appendingPathComponent("record.json")))
        #expect(entryRecord.status == .complete)
        #expect(entryRecord.outputs?.files == ["tokens": "data/tokens.txt"])

        let second = try SharedPipeline().make(cache: layout.cache, run: layout.run("p1"), counter: counter)
        let made = isoTimestamp(try #require(entryRecord.finishedAt))
        #expect(summary(try second.plan()) == [
            "prepare: up-to-date: cached in \(entry.path) (made \(made))",
            "train: will run: never run",
        ])
        let report = try second.run()
        #expect(report.outcomes.map(\.result) == [.skipped, .ran])
        #expect(counter.count("prepare") == 1)
        #expect(counter.count("train") == 2)
        for run in ["p0", "p1"] {
            let model = layout.run(run).appendingPathComponent("model.txt")
            #expect(try readText(model) == "trained on \(tokens.path)\n" + SharedPipeline.tokens(of: "a.jsonl"))
            // The run's own record says which entry it used.
            let record = try #require(try RunDirectory(root: layout.run(run)).readRecord(step: "prepare"))
            #expect(record.cacheEntry == entry.path)
            #expect(record.key == first.keys["prepare"])
            #expect(record.status == .complete)
        }
    }

    @Test func changedInputMakesANewEntryAndThePlanNamesTheChange() throws {
        let layout = SharedLayout(dir: try TemporaryDirectory())
        let counter = ExecutionCounter()
        let a = try SharedPipeline(input: "a.jsonl").make(cache: layout.cache, run: layout.run("p0"), counter: counter)
        try a.run()
        let b = try SharedPipeline(input: "b.jsonl").make(cache: layout.cache, run: layout.run("p0"), counter: counter)
        #expect(summary(try b.plan()) == [
            "prepare: will rerun: data.input changed: a.jsonl → b.jsonl",
            "train: will rerun: upstream prepare will rerun",
        ])
        try b.run()
        #expect(counter.count("prepare") == 2)
        let entries = try FileManager.default
            .contentsOfDirectory(atPath: layout.cache.appendingPathComponent("prepare").path)
            .filter { !$0.hasSuffix(".lock") }.sorted()
        #expect(entries == [layout.entry(a).lastPathComponent, layout.entry(b).lastPathComponent].sorted())
        #expect(layout.entry(a) != layout.entry(b))
        for (pipeline, input) in [(a, "a.jsonl"), (b, "b.jsonl")] {
            let tokens = layout.entry(pipeline).appendingPathComponent("data/tokens.txt")
            #expect(try readText(tokens) == SharedPipeline.tokens(of: input))
        }

        // Back to a: its entry is still there, so nothing is prepared again.
        let backToA = try SharedPipeline(input: "a.jsonl")
            .make(cache: layout.cache, run: layout.run("p0"), counter: counter)
        #expect(try backToA.plan()[0].status == .upToDate)
        try backToA.run()
        #expect(counter.count("prepare") == 2)
        #expect(try backToA.runDirectory.readRecord(step: "prepare")?.cacheEntry == layout.entry(a).path)
    }

    @Test func failedEntryRerunsWithTheFailure() throws {
        let layout = SharedLayout(dir: try TemporaryDirectory())
        let counter = ExecutionCounter()
        let failing = try SharedPipeline(failure: "input shard missing")
            .make(cache: layout.cache, run: layout.run("p0"), counter: counter)
        #expect(try failing.run().outcomes.map(\.result) == [.failed, .notRun])
        let entry = layout.entry(failing)
        #expect(try RecordFile.read(entry.appendingPathComponent("record.json"))?.status == .failed)

        let other = try SharedPipeline().make(cache: layout.cache, run: layout.run("p1"), counter: counter)
        #expect(summary(try other.plan())[0] == "prepare: will rerun: previous run failed: input shard missing")
        #expect(try other.run().succeeded)
        #expect(counter.count("prepare") == 2)
        #expect(try readText(entry.appendingPathComponent("data/tokens.txt")) == SharedPipeline.tokens(of: "a.jsonl"))
    }

    @Test func interruptedEntryRerunsAndALiveOneIsNamed() throws {
        let layout = SharedLayout(dir: try TemporaryDirectory())
        let counter = ExecutionCounter()
        let pipeline = try SharedPipeline().make(cache: layout.cache, run: layout.run("p0"), counter: counter)
        try pipeline.run()
        let entry = try #require(pipeline.cacheEntry(of: pipeline.steps[0]))
        #expect(entry.directory == layout.entry(pipeline))

        // What a SIGKILLed maker leaves: a running record, and its lock gone with the process.
        let started = Date(timeIntervalSince1970: 1_790_000_000)
        var record = try #require(try entry.readRecord())
        record.status = .running
        record.startedAt = started
        record.finishedAt = nil
        try RecordFile.write(record, to: entry.recordURL)
        #expect(summary(try pipeline.plan())[0] == "prepare: will rerun: previous run did not complete "
            + "(interrupted: started at \(isoTimestamp(started)), no finish was recorded)")

        // The same record while a maker holds the entry's lock is work in progress, not a crash.
        let held = try #require(try FileLock.tryAcquire(entry.lockURL))
        #expect(summary(try pipeline.plan())[0] == "prepare: will rerun: being made in \(entry.directory.path) "
            + "by another run (pid \(getpid())) now")
        held.release()

        record.status = .interrupted
        record.finishedAt = started.addingTimeInterval(60)
        try RecordFile.write(record, to: entry.recordURL)
        #expect(summary(try pipeline.plan())[0] == "prepare: will rerun: previous run did not complete "
            + "(interrupted at \(isoTimestamp(started.addingTimeInterval(60))))")
        #expect(try pipeline.run().outcomes.map(\.result) == [.ran, .ran])
        #expect(counter.count("prepare") == 2)
        #expect(try entry.readRecord()?.status == .complete)
    }

    @Test func missingOutputInTheEntryRerunsTheStep() throws {
        let layout = SharedLayout(dir: try TemporaryDirectory())
        let counter = ExecutionCounter()
        let first = try SharedPipeline().make(cache: layout.cache, run: layout.run("p0"), counter: counter)
        try first.run()
        let tokens = layout.entry(first).appendingPathComponent("data/tokens.txt")
        try FileManager.default.removeItem(at: tokens)

        let second = try SharedPipeline().make(cache: layout.cache, run: layout.run("p1"), counter: counter)
        #expect(summary(try second.plan()) == [
            "prepare: will rerun: output tokens (data/tokens.txt) is missing in \(layout.entry(first).path)",
            "train: will run: never run",
        ])
        #expect(try second.run().outcomes.map(\.result) == [.ran, .ran])
        #expect(counter.count("prepare") == 2)
        #expect(try readText(tokens) == SharedPipeline.tokens(of: "a.jsonl"))
    }

    @Test func deletedEntryIsNamedRelativeToTheRunsRecord() throws {
        let layout = SharedLayout(dir: try TemporaryDirectory())
        let counter = ExecutionCounter()
        let pipeline = try SharedPipeline().make(cache: layout.cache, run: layout.run("p0"), counter: counter)
        try pipeline.run()
        try FileManager.default.removeItem(at: layout.entry(pipeline))
        #expect(summary(try pipeline.plan())[0]
            == "prepare: will rerun: cache entry \(layout.entry(pipeline).path) is missing")
    }

    @Test func withoutACacheASharedStepStaysInTheRunDirectory() throws {
        let layout = SharedLayout(dir: try TemporaryDirectory())
        let counter = ExecutionCounter()
        let pipeline = try SharedPipeline().make(cache: nil, run: layout.run("p0"), counter: counter)
        try pipeline.run()
        let tokens = layout.run("p0").appendingPathComponent("data/tokens.txt")
        #expect(try readText(tokens) == SharedPipeline.tokens(of: "a.jsonl"))
        #expect(try readText(layout.run("p0").appendingPathComponent("model.txt"))
            == "trained on \(tokens.path)\n" + SharedPipeline.tokens(of: "a.jsonl"))
        #expect(!FileManager.default.fileExists(atPath: layout.cache.path))
        #expect(try pipeline.runDirectory.readRecord(step: "prepare")?.cacheEntry == nil)
        #expect(try pipeline.plan().map(\.status) == [.upToDate, .upToDate])
    }

    @Test func forcedSharedStepRerunsIntoItsEntry() throws {
        let layout = SharedLayout(dir: try TemporaryDirectory())
        let counter = ExecutionCounter()
        let pipeline = try SharedPipeline().make(cache: layout.cache, run: layout.run("p0"), counter: counter)
        try pipeline.run()
        #expect(summary(try pipeline.plan(forcing: ["prepare"])) == [
            "prepare: will rerun: forced",
            "train: will rerun: upstream prepare will rerun",
        ])
        #expect(try pipeline.run(forcing: ["prepare"]).outcomes.map(\.result) == [.ran, .ran])
        #expect(counter.count("prepare") == 2)
        let remade = try #require(try RecordFile.read(layout.entry(pipeline).appendingPathComponent("record.json")))
        #expect(remade.reason == "forced")
        #expect(try pipeline.restricted(to: ["prepare"]).plan().map(\.reason)
            == ["cached in \(layout.entry(pipeline).path) (made \(isoTimestamp(try #require(remade.finishedAt))))"])
    }
}
