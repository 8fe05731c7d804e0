import Dispatch
import Foundation

/// A validated DAG of steps bound to one run directory: `plan()` says what would run and why,
/// `run()` does it.
public struct Pipeline: Sendable {
    public let runDirectory: RunDirectory
    /// In topological order (declaration order where the edges allow).
    public let steps: [Step]
    /// Cache key of every step, by name.
    public let keys: [String: String]

    /// Throws for duplicate names, unknown upstream names and cycles.
    public init(steps: [Step], runDirectory: RunDirectory) throws {
        let graph = try StepGraph(steps: steps)
        var keys: [String: String] = [:]
        for step in graph.ordered {
            keys[step.name] = CacheKey.compute(
                stepName: step.name, formatVersion: step.formatVersion, inputs: step.inputs,
                upstreamKeys: Self.upstreamKeys(of: step, keys: keys))
        }
        self.runDirectory = runDirectory
        self.steps = graph.ordered
        self.keys = keys
    }

    /// The named steps and everything upstream of them (`xmoe prepare-data` runs one step of the DAG).
    public func restricted(to names: [String]) throws -> Pipeline {
        var needed: Set<String> = []
        var pending = names
        while let name = pending.popLast() {
            guard let step = steps.first(where: { $0.name == name }) else {
                throw PipelineError.unknownStep(name, known: steps.map(\.name))
            }
            if needed.insert(name).inserted { pending += step.upstream }
        }
        return try Pipeline(steps: steps.filter { needed.contains($0.name) }, runDirectory: runDirectory)
    }

    /// Each step's status and reasons, in run order. Runs nothing, writes nothing. Steps in `forcing`
    /// rerun even when up to date (`--force <step>`), and so do their dependents.
    public func plan(forcing: Set<String> = []) throws -> [StepPlan] {
        for name in CacheKey.canonicallySorted(forcing) where keys[name] == nil {
            throw PipelineError.unknownStep(name, known: steps.map(\.name))
        }
        var plans: [String: StepPlan] = [:]
        var ordered: [StepPlan] = []
        for step in steps {
            let record = try runDirectory.readRecord(step: step.name)
            var (status, reasons) = PlanExplainer.explain(
                step: step, key: keys[step.name]!, upstreamKeys: Self.upstreamKeys(of: step, keys: keys),
                record: record, upstreamPlans: plans, runDirectory: runDirectory)
            if forcing.contains(step.name) {
                reasons = status == .upToDate ? ["forced"] : ["forced"] + reasons
                status = record == nil ? .willRun : .willRerun
            }
            let plan = StepPlan(
                step: step.name, key: keys[step.name]!, status: status, reasons: reasons, previous: record)
            plans[step.name] = plan
            ordered.append(plan)
        }
        return ordered
    }

    /// Runs every step that is not up to date, in order. A step that throws is recorded `failed` and its
    /// dependents are not run; independent steps still run. Throws only when records cannot be
    /// read or written.
    @discardableResult
    public func run(reporter: any ProgressReporter = SilentProgressReporter(), forcing: Set<String> = [])
        throws -> RunReport
    {
        let plans = try plan(forcing: forcing)
        var outputs: [String: StepOutputs] = [:]
        var blockedBy: [String: String] = [:]  // step → the failed step it (transitively) depends on
        var outcomes: [StepOutcome] = []
        for (step, plan) in zip(steps, plans) {
            if let failedRoot = step.upstream.lazy.compactMap({ blockedBy[$0] }).first {
                blockedBy[step.name] = failedRoot
                let reason = "upstream \(failedRoot) failed"
                reporter.stepNotRun(step.name, reason: reason)
                outcomes.append(StepOutcome(step: step.name, result: .notRun, detail: reason))
                continue
            }
            if plan.status == .upToDate {
                outputs[step.name] = plan.previous?.outputs ?? StepOutputs()
                reporter.stepSkipped(step.name, reason: plan.reason)
                outcomes.append(StepOutcome(step: step.name, result: .skipped, detail: plan.reason))
                continue
            }
            let outcome = try execute(step, plan: plan, upstreamOutputs: outputs, reporter: reporter)
            switch outcome {
            case .success(let produced):
                outputs[step.name] = produced
                outcomes.append(StepOutcome(step: step.name, result: .ran, detail: plan.reason))
            case .failure(let message):
                blockedBy[step.name] = step.name
                outcomes.append(StepOutcome(step: step.name, result: .failed, detail: message))
            }
        }
        return RunReport(outcomes: outcomes)
    }

    private enum Execution {
        case success(StepOutputs)
        case failure(String)
    }

    private func execute(
        _ step: Step, plan: StepPlan, upstreamOutputs: [String: StepOutputs], reporter: any ProgressReporter
    ) throws -> Execution {
        let startedAt = Date()
        let startClock = monotonicSeconds()
        var record = StepRecord(
            step: step.name, key: plan.key, status: .running, startedAt: startedAt,
            formatVersion: step.formatVersion, inputs: step.inputs,
            upstreamKeys: Self.upstreamKeys(of: step, keys: keys), reason: plan.reason)
        // On disk before the body starts: a process killed from here on leaves `running`, never `complete`.
        try runDirectory.writeRecord(record)
        let activeID = ActiveStepRegistry.shared.begin(record, in: runDirectory)
        reporter.stepStarted(step.name, reason: plan.reason)

        let context = StepContext(
            stepName: step.name, runDirectory: runDirectory, inputs: step.inputs,
            upstreamOutputs: upstreamOutputs.filter { step.upstream.contains($0.key) }, reporter: reporter)
        let execution: Execution
        do {
            let produced = try step.body(context)
            try verifyCommitted(produced, step: step.name)
            execution = .success(produced)
        } catch {
            execution = .failure("\(error)")
        }

        let duration = monotonicSeconds() - startClock
        record.finishedAt = Date()
        record.durationSeconds = duration
        switch execution {
        case .success(let produced):
            record.status = .complete
            record.outputs = produced
        case .failure(let message):
            record.status = .failed
            record.error = message
        }
        try ActiveStepRegistry.shared.finish(activeID) { try runDirectory.writeRecord(record) }
        switch execution {
        case .success: reporter.stepFinished(step.name, durationSeconds: duration)
        case .failure(let message): reporter.stepFailed(step.name, error: message)
        }
        return execution
    }

    private func verifyCommitted(_ outputs: StepOutputs, step: String) throws {
        for name in CacheKey.canonicallySorted(outputs.files.keys) {
            let url = try runDirectory.outputURL(outputs.files[name]!, step: step)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw PipelineError.outputNotCommitted(step: step, name: name, path: url.path)
            }
        }
    }

    private static func upstreamKeys(of step: Step, keys: [String: String]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: step.upstream.map { ($0, keys[$0]!) })
    }
}

public struct StepOutcome: Sendable, Equatable {
    public enum Result: String, Sendable, Equatable {
        case skipped
        case ran
        case failed
        case notRun = "not run"
    }

    public let step: String
    public let result: Result
    /// The plan's reason for `skipped`/`ran`, the error for `failed`, "upstream X failed" for `notRun`.
    public let detail: String
}

public struct RunReport: Sendable, Equatable {
    public let outcomes: [StepOutcome]

    public var succeeded: Bool { outcomes.allSatisfy { $0.result == .skipped || $0.result == .ran } }

    public func outcome(of step: String) -> StepOutcome? {
        outcomes.first { $0.step == step }
    }
}
