import Dispatch
import Foundation
import Testing

@testable import XMoEPipeline

/// Records each reporter's events, and lets a step body wait until some run reports waiting.
final class WaitingReporter: ProgressReporter, @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    private let waitingSeen: DispatchSemaphore

    init(waitingSeen: DispatchSemaphore) {
        self.waitingSeen = waitingSeen
    }

    var events: [String] {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    func stepWaiting(_ step: String, message: String) {
        lock.lock()
        stored.append("\(step): \(message)")
        lock.unlock()
        waitingSeen.signal()
    }
}

/// Results of work done on other threads.
final class ResultBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Int: Value] = [:]

    subscript(index: Int) -> Value? {
        get {
            lock.lock()
            defer { lock.unlock() }
            return values[index]
        }
        set {
            lock.lock()
            values[index] = newValue
            lock.unlock()
        }
    }
}

struct SharedStepLockingTests {
    /// Two sweep points on two threads want the same entry. The body that runs holds on until the other
    /// run has reported waiting (at most 10 s), so the overlap is certain rather than a matter of timing.
    @Test func concurrentRunsMakeTheEntryOnce() throws {
        let layout = SharedLayout(dir: try TemporaryDirectory())
        let counter = ExecutionCounter()
        let waitingSeen = DispatchSemaphore(value: 0)
        let spec = SharedPipeline(duringPrepare: { _ = waitingSeen.wait(timeout: .now() + 10) })
        let reporters = [WaitingReporter(waitingSeen: waitingSeen), WaitingReporter(waitingSeen: waitingSeen)]
        let pipelines = try [0, 1].map {
            try spec.make(cache: layout.cache, run: layout.run("p\($0)"), counter: counter)
        }
        let reports = ResultBox<Result<RunReport, any Error>>()
        let finished = DispatchGroup()
        for index in 0..<2 {
            finished.enter()
            let pipeline = pipelines[index], reporter = reporters[index]
            Thread.detachNewThread {
                reports[index] = Result { try pipeline.run(reporter: reporter) }
                finished.leave()
            }
        }
        finished.wait()

        let outcomes = try [0, 1].map { try #require(try reports[$0]?.get()).outcomes }
        #expect(outcomes.allSatisfy { $0.allSatisfy { $0.result == .ran || $0.result == .skipped } })
        #expect(counter.count("prepare") == 1)
        #expect(counter.count("train") == 2)
        let waiter = try #require([0, 1].first { outcomes[$0][0].result == .skipped })
        let maker = 1 - waiter
        #expect(outcomes[maker][0].result == .ran)
        #expect(outcomes[waiter][0].detail == "made meanwhile by another run")
        #expect(reporters[waiter].events == ["prepare: waiting for prepare (held by pid \(getpid()))"])
        #expect(reporters[maker].events.isEmpty)

        let tokens = layout.entry(pipelines[0]).appendingPathComponent("data/tokens.txt")
        for run in ["p0", "p1"] {
            #expect(try readText(layout.run(run).appendingPathComponent("model.txt"))
                == "trained on \(tokens.path)\n" + SharedPipeline.tokens(of: "a.jsonl"))
            #expect(try RunDirectory(root: layout.run(run)).readRecord(step: "prepare")?.cacheEntry
                == layout.entry(pipelines[0]).path)
        }
    }
}

struct RunLockTests {
    @Test func secondHolderIsRefusedUntilRelease() throws {
        let dir = try TemporaryDirectory()
        let run = RunDirectory(root: dir.url.appendingPathComponent("runs/x"))
        let first = try run.lock()
        #expect(throws: PipelineError.runDirectoryInUse(path: run.root.path, pid: getpid())) { try run.lock() }
        #expect(PipelineError.runDirectoryInUse(path: run.root.path, pid: 1234).description
            == "\(run.root.path) is in use by another xmoe process (pid 1234); wait for it or stop it")
        first.release()
        let second = try run.lock()
        second.release()
    }

    @Test func lockIsFreedWhenItsHolderGoesAway() throws {
        let dir = try TemporaryDirectory()
        let run = RunDirectory(root: dir.url.appendingPathComponent("runs/x"))
        do {
            _ = try RunLock(runDirectory: run)
        }
        let again = try run.lock()
        withExtendedLifetime(again) {}
    }

    @Test func staleLockFileOfADeadProcessIsHarmless() throws {
        let dir = try TemporaryDirectory()
        let run = RunDirectory(root: dir.url.appendingPathComponent("runs/x"))
        try FileManager.default.createDirectory(at: run.root, withIntermediateDirectories: true)
        let lockFile = run.root.appendingPathComponent(".lock")
        try "999999999\n".write(to: lockFile, atomically: true, encoding: .utf8)
        let lock = try run.lock()
        #expect(try readText(lockFile) == "\(getpid())\n")
        lock.release()
    }
}
