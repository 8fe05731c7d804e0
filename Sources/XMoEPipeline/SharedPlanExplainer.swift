import Foundation

/// The verdict for a shared step: its cache entry for the current key decides; without a usable one,
/// the run directory's own record (what this run used last) says what the user changed.
enum SharedPlanExplainer {
    static func explain(
        step: Step, key: String, upstreamKeys: [String: String], entry: CacheEntry, entryRecord: StepRecord?,
        runRecord: StepRecord?, upstreamPlans: [String: StepPlan]
    ) -> (PlanStatus, [String]) {
        let upstreamReruns = step.upstream.compactMap { upstream -> String? in
            let status = upstreamPlans[upstream]!.status
            return status == .upToDate ? nil : "upstream \(upstream) \(status.rawValue)"
        }
        if let entryRecord, entryRecord.key == key {
            var reasons: [String] = []
            if entryRecord.status == .running, FileLock.isHeld(entry.lockURL) {
                let holder = FileLock.holderPID(entry.lockURL).map { "pid \($0)" } ?? "pid unknown"
                reasons.append("being made in \(entry.directory.path) by another run (\(holder)) now")
            } else if let unfinished = PlanExplainer.unfinishedReason(entryRecord) {
                reasons.append(unfinished)
            } else {
                reasons += OutputPath.missing(
                    entryRecord.outputs ?? StepOutputs(), under: entry.directory, step: step.name
                ).map { "\($0) in \(entry.directory.path)" }
            }
            reasons += upstreamReruns
            if reasons.isEmpty {
                let made = PlanExplainer.timestamp(entryRecord.finishedAt ?? entryRecord.startedAt)
                return (.upToDate, ["cached in \(entry.directory.path) (made \(made))"])
            }
            return (.willRerun, reasons)
        }
        guard let runRecord else { return (.willRun, ["never run"]) }
        var reasons = PlanExplainer.changes(
            step: step, record: runRecord, upstreamKeys: upstreamKeys, upstreamPlans: upstreamPlans)
        if reasons.isEmpty {
            reasons.append("cache entry \(entry.directory.path) is missing")
        }
        return (.willRerun, reasons)
    }
}
