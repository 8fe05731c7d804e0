import Foundation
import XMoEBase

/// Where one execution of a step writes: the root its output paths are relative to, and every record
/// file (with the `cacheEntry` each copy names: the run directory's copy of a shared step names it).
struct StepPlacement {
    let outputRoot: URL
    let records: [(url: URL, cacheEntry: String?)]
}

extension Pipeline {
    /// Runs a shared step under its entry's lock. A run that finds the lock taken says so, waits, and
    /// then skips the step when the holder completed the entry meanwhile.
    func executeShared(
        _ step: Step, plan: StepPlan, entry: CacheEntry, upstream: UpstreamResults, reporter: any ProgressReporter
    ) throws -> Execution {
        let entryLock: FileLock
        if let free = try FileLock.tryAcquire(entry.lockURL) {
            entryLock = free
        } else {
            let holder = FileLock.holderPID(entry.lockURL).map { "pid \($0)" } ?? "pid unknown"
            reporter.stepWaiting(step.name, message: "waiting for \(step.name) (held by \(holder))")
            entryLock = try FileLock.acquire(entry.lockURL)
        }
        defer { entryLock.release() }
        // A usable record other than the one planned against was made since planning; the planned one
        // itself being usable means this rerun was forced (or its upstream reran), so it runs.
        if let made = try entry.usableRecord(key: plan.key, step: step.name), made != plan.previous {
            try recordUse(of: entry, record: made)
            let reason = "made meanwhile by another run"
            return .skipped(made.outputs ?? StepOutputs(), root: entry.directory, reason: reason)
        }
        let placement = StepPlacement(
            outputRoot: entry.directory,
            records: [(entry.recordURL, nil), (runDirectory.recordURL(step: step.name), entry.directory.path)])
        return try execute(step, plan: plan, placement: placement, upstream: upstream, reporter: reporter)
    }

    func execute(
        _ step: Step, plan: StepPlan, placement: StepPlacement, upstream: UpstreamResults,
        reporter: any ProgressReporter
    ) throws -> Execution {
        let startedAt = Date()
        let startClock = monotonicSeconds()
        var record = StepRecord(
            step: step.name, key: plan.key, status: .running, startedAt: startedAt,
            formatVersion: step.formatVersion, inputs: step.inputs,
            upstreamKeys: Self.upstreamKeys(of: step, keys: keys), reason: plan.reason)
        // On disk before the body starts: a process killed from here on leaves `running`, never `complete`.
        try write(record, to: placement)
        let activeID = ActiveStepRegistry.shared.begin(copies(of: record, in: placement))
        reporter.stepStarted(step.name, reason: plan.reason)

        let context = StepContext(
            stepName: step.name, runDirectory: runDirectory, outputRoot: placement.outputRoot, inputs: step.inputs,
            upstreamOutputs: upstream.outputs.filter { step.upstream.contains($0.key) },
            upstreamRoots: upstream.roots.filter { step.upstream.contains($0.key) }, reporter: reporter)
        var failure: String?
        do {
            let produced = try step.body(context)
            try verifyCommitted(produced, step: step.name, root: placement.outputRoot)
            record.outputs = produced
        } catch {
            failure = readableDescription(of: error)  // never Foundation's bare "error 256"
        }

        let duration = monotonicSeconds() - startClock
        record.finishedAt = Date()
        record.durationSeconds = duration
        record.status = failure == nil ? .complete : .failed
        record.error = failure
        try ActiveStepRegistry.shared.finish(activeID) { try write(record, to: placement) }
        if let failure {
            reporter.stepFailed(step.name, error: failure)
            return .failure(failure)
        }
        reporter.stepFinished(step.name, durationSeconds: duration)
        return .success(record.outputs ?? StepOutputs(), root: placement.outputRoot)
    }

    private func copies(of record: StepRecord, in placement: StepPlacement) -> [(url: URL, record: StepRecord)] {
        placement.records.map { target in
            var copy = record
            copy.cacheEntry = target.cacheEntry
            return (target.url, copy)
        }
    }

    private func write(_ record: StepRecord, to placement: StepPlacement) throws {
        for (url, copy) in copies(of: record, in: placement) {
            try RecordFile.write(copy, to: url)
        }
    }

    private func verifyCommitted(_ outputs: StepOutputs, step: String, root: URL) throws {
        for name in CacheKey.canonicallySorted(outputs.files.keys) {
            let url = try OutputPath.resolve(outputs.files[name]!, under: root, step: step)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw PipelineError.outputNotCommitted(step: step, name: name, path: url.path)
            }
        }
    }
}
