import Foundation

public enum PlanStatus: String, Sendable, Equatable {
    case upToDate = "up-to-date"
    case willRun = "will run"
    case willRerun = "will rerun"
}

/// One step's verdict, with the reasons a user reads in `xmoe plan` and in the step record.
public struct StepPlan: Sendable, Equatable {
    public let step: String
    public let key: String
    public let status: PlanStatus
    /// Each a short sentence: "never run", "model.hidden changed: 256 → 512", …
    public let reasons: [String]
    /// The record the verdict was made against: a shared step's cache entry record for this key when
    /// there is one, else this run directory's record of the step.
    public let previous: StepRecord?
    /// Where a shared step's record and outputs live, when the pipeline has a `StepCache`.
    public let cacheEntry: CacheEntry?

    public var reason: String { reasons.joined(separator: "; ") }
}

/// Compares a step's current key material with its record and says, in the user's terms, what differs.
enum PlanExplainer {
    /// `outputRoot`: the directory the record's output paths are relative to.
    static func explain(
        step: Step, key: String, upstreamKeys: [String: String], record: StepRecord?,
        upstreamPlans: [String: StepPlan], outputRoot: URL
    ) -> (PlanStatus, [String]) {
        guard let record else { return (.willRun, ["never run"]) }
        var reasons: [String] = []
        if let unfinished = unfinishedReason(record) { reasons.append(unfinished) }
        reasons += changes(step: step, record: record, upstreamKeys: upstreamKeys, upstreamPlans: upstreamPlans)
        if reasons.isEmpty, record.key != key {
            reasons.append("cache key changed (the key encoding of this xmoe version differs)")
        }
        if reasons.isEmpty {
            reasons += OutputPath.missing(record.outputs ?? StepOutputs(), under: outputRoot, step: step.name)
        }
        if reasons.isEmpty {
            return (.upToDate, ["unchanged since \(timestamp(record.finishedAt ?? record.startedAt))"])
        }
        return (.willRerun, reasons)
    }

    /// Why a record that is not `complete` does not count; nil for a complete one.
    static func unfinishedReason(_ record: StepRecord) -> String? {
        switch record.status {
        case .complete:
            return nil
        case .running:
            return "previous run did not complete (interrupted: started at \(timestamp(record.startedAt)), "
                + "no finish was recorded)"
        case .interrupted:
            return "previous run did not complete (interrupted at \(timestamp(record.finishedAt ?? record.startedAt)))"
        case .failed:
            return "previous run failed: \(record.error ?? "no error message recorded")"
        }
    }

    /// What differs between the key material `record` was made from and the step as declared now.
    static func changes(
        step: Step, record: StepRecord, upstreamKeys: [String: String], upstreamPlans: [String: StepPlan]
    ) -> [String] {
        var reasons: [String] = []
        if record.formatVersion != step.formatVersion {
            reasons.append("format version changed: \(record.formatVersion) → \(step.formatVersion)")
        }
        reasons += inputChanges(from: record.inputs, to: step.inputs)
        reasons += upstreamChanges(
            step: step, recorded: record.upstreamKeys, current: upstreamKeys, upstreamPlans: upstreamPlans)
        return reasons
    }

    static func inputChanges(from old: [String: String], to new: [String: String]) -> [String] {
        CacheKey.canonicallySorted(Set(old.keys).union(new.keys)).compactMap { key in
            switch (old[key], new[key]) {
            case (nil, _): return "\(key) added"
            case (_, nil): return "\(key) removed"
            case (let before?, let after?) where before != after: return "\(key) changed: \(before) → \(after)"
            default: return nil
            }
        }
    }

    private static func upstreamChanges(
        step: Step, recorded: [String: String], current: [String: String], upstreamPlans: [String: StepPlan]
    ) -> [String] {
        var reasons: [String] = []
        for upstream in step.upstream {
            let plan = upstreamPlans[upstream]!
            if recorded[upstream] == nil {
                reasons.append("upstream \(upstream) added")
            } else if plan.status != .upToDate {
                reasons.append("upstream \(upstream) \(plan.status.rawValue)")
            } else if recorded[upstream] != current[upstream] {
                reasons.append("upstream \(upstream) changed since this step ran")
            }
        }
        for upstream in CacheKey.canonicallySorted(recorded.keys) where !step.upstream.contains(upstream) {
            reasons.append("upstream \(upstream) removed")
        }
        return reasons
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
