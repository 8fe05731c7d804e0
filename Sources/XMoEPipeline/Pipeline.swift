import Dispatch
import Foundation

/// A validated DAG of steps bound to one run directory: `plan()` says what would run and why,
/// `run()` does it. Shared steps keep their records and outputs in `sharedCache` when there is one.
public struct Pipeline: Sendable {
    public let runDirectory: RunDirectory
    public let sharedCache: StepCache?
    /// In topological order (declaration order where the edges allow).
    public let steps: [Step]
    /// Cache key of every step, by name.
    public let keys: [String: String]

    /// Throws for duplicate names, unknown upstream names and cycles.
    public init(steps: [Step], runDirectory: RunDirectory, sharedCache: StepCache? = nil) throws {
        let graph = try StepGraph(steps: steps)
        var keys: [String: String] = [:]
        for step in graph.ordered {
            keys[step.name] = CacheKey.compute(
                stepName: step.name, formatVersion: step.formatVersion, inputs: step.inputs,
                upstreamKeys: Self.upstreamKeys(of: step, keys: keys))
        }
        self.runDirectory = runDirectory
        self.sharedCache = sharedCache
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
        return try Pipeline(
            steps: steps.filter { needed.contains($0.name) }, runDirectory: runDirectory, sharedCache: sharedCache)
    }

    /// The cache entry a step's record and outputs live in: nil for run-local steps, and for every
    /// step when the pipeline has no cache.
    public func cacheEntry(of step: Step) -> CacheEntry? {
        guard step.shared, let sharedCache else { return nil }
        return sharedCache.entry(step: step.name, key: keys[step.name]!)
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
            let key = keys[step.name]!
            let upstreamKeys = Self.upstreamKeys(of: step, keys: keys)
            let runRecord = try runDirectory.readRecord(step: step.name)
            let entry = cacheEntry(of: step)
            var (status, reasons): (PlanStatus, [String])
            var previous = runRecord
            if let entry {
                let entryRecord = try entry.readRecord()
                if let entryRecord, entryRecord.key == key { previous = entryRecord }
                (status, reasons) = SharedPlanExplainer.explain(
                    step: step, key: key, upstreamKeys: upstreamKeys, entry: entry, entryRecord: entryRecord,
                    runRecord: runRecord, upstreamPlans: plans)
            } else {
                (status, reasons) = PlanExplainer.explain(
                    step: step, key: key, upstreamKeys: upstreamKeys, record: runRecord, upstreamPlans: plans,
                    outputRoot: runDirectory.root)
            }
            if forcing.contains(step.name) {
                reasons = status == .upToDate ? ["forced"] : ["forced"] + reasons
                status = previous == nil ? .willRun : .willRerun
            }
            if status != .upToDate, let note = step.planNote?(upstreamKeys) {
                reasons.insert(note, at: 0)
            }
            let plan = StepPlan(
                step: step.name, key: key, status: status, reasons: reasons, previous: previous, cacheEntry: entry)
            plans[step.name] = plan
            ordered.append(plan)
        }
        return ordered
    }

    /// Runs every step that is not up to date, in order. A step that throws is recorded `failed` and its
    /// dependents are not run; independent steps still run. Throws only when records cannot be
    /// read or written (or a shared step's lock cannot be taken).
    @discardableResult
    public func run(reporter: any ProgressReporter = SilentProgressReporter(), forcing: Set<String> = [])
        throws -> RunReport
    {
        let plans = try plan(forcing: forcing)
        var upstream = UpstreamResults()
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
            let execution: Execution
            if plan.status == .upToDate {
                execution = try adoptUpToDate(step, plan: plan)
            } else if let entry = plan.cacheEntry {
                execution = try executeShared(step, plan: plan, entry: entry, upstream: upstream, reporter: reporter)
            } else {
                let placement = StepPlacement(
                    outputRoot: runDirectory.root, records: [(runDirectory.recordURL(step: step.name), nil)])
                execution = try execute(step, plan: plan, placement: placement, upstream: upstream, reporter: reporter)
            }
            switch execution {
            case .skipped(let produced, let root, let reason):
                upstream.record(step.name, outputs: produced, root: root)
                reporter.stepSkipped(step.name, reason: reason)
                outcomes.append(StepOutcome(step: step.name, result: .skipped, detail: reason))
            case .success(let produced, let root):
                upstream.record(step.name, outputs: produced, root: root)
                outcomes.append(StepOutcome(step: step.name, result: .ran, detail: plan.reason))
            case .failure(let message):
                blockedBy[step.name] = step.name
                outcomes.append(StepOutcome(step: step.name, result: .failed, detail: message))
            }
        }
        return RunReport(outcomes: outcomes)
    }

    /// An up-to-date step's outputs; a shared one's use is recorded in the run directory too.
    private func adoptUpToDate(_ step: Step, plan: StepPlan) throws -> Execution {
        let produced = plan.previous?.outputs ?? StepOutputs()
        guard let entry = plan.cacheEntry, let entryRecord = plan.previous else {
            return .skipped(produced, root: runDirectory.root, reason: plan.reason)
        }
        try recordUse(of: entry, record: entryRecord)
        return .skipped(produced, root: entry.directory, reason: plan.reason)
    }

    /// Writes the run directory's copy of a shared step's entry record, naming the entry, unless it is
    /// there already.
    func recordUse(of entry: CacheEntry, record entryRecord: StepRecord) throws {
        var copy = entryRecord
        copy.cacheEntry = entry.directory.path
        if try runDirectory.readRecord(step: copy.step) != copy {
            try runDirectory.writeRecord(copy)
        }
    }

    static func upstreamKeys(of step: Step, keys: [String: String]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: step.upstream.map { ($0, keys[$0]!) })
    }
}

/// What the steps run so far produced, and where their output paths are rooted.
struct UpstreamResults {
    private(set) var outputs: [String: StepOutputs] = [:]
    private(set) var roots: [String: URL] = [:]

    mutating func record(_ step: String, outputs produced: StepOutputs, root: URL) {
        outputs[step] = produced
        roots[step] = root
    }
}

enum Execution {
    case skipped(StepOutputs, root: URL, reason: String)
    case success(StepOutputs, root: URL)
    case failure(String)
}
