import Foundation
import XMoEPipeline
import XMoESpec

/// Runs the points of a sweep that are not up to date, at most `maxParallel` at a time, each as a
/// child `xmoe run`. Shared steps (data preparation) run first, once per distinct key, so points that
/// read the same data wait for one preparation instead of racing for it. A failing point is recorded and
/// the others go on; Ctrl-C or SIGTERM stops the children (their steps are marked interrupted, training
/// keeps its checkpoints) and the next `xmoe sweep` continues from there.
final class SweepRunner {
    enum PointResult {
        case upToDate
        case succeeded
        case failed(String)
        case interrupted
        case notRun(String)
    }

    struct PointOutcome {
        let name: String
        let result: PointResult
    }

    struct Outcome {
        let points: [PointOutcome]
        let interruptedBy: Int32?
    }

    let sweep: SweepSpec
    let directory: SweepDirectory
    let plans: [SweepPointPlan]
    let maxParallel: Int
    private let display: SweepProgressDisplay

    init(sweep: SweepSpec, directory: SweepDirectory, plans: [SweepPointPlan], maxParallel: Int) {
        self.sweep = sweep
        self.directory = directory
        self.plans = plans
        self.maxParallel = maxParallel
        display = SweepProgressDisplay(total: plans.count, alreadyDone: plans.filter(\.isDone).count)
    }

    /// Ctrl-C, SIGTERM or SIGHUP reach the points through `PointProcess` (forwarded as SIGTERM); the
    /// runner waits for them to record their steps interrupted, then returns. A sweep killed outright
    /// (SIGKILL) takes its points with it: each watches its parent (`ParentWatch`).
    func run() throws -> Outcome {
        PointProcess.forwardSignals()
        return try InterruptHandler.cooperating(graceSeconds: 60) { try runPoints() }
    }

    private var interrupted: Int32? { InterruptHandler.pendingSignal }

    private func runPoints() throws -> Outcome {
        var results: [String: PointResult] = [:]
        for plan in plans where plan.isDone { results[plan.point.name] = .upToDate }
        try prepareSharedSteps(results: &results)
        var queue = plans.filter { results[$0.point.name] == nil }
        var running: [PointProcess] = []
        // Children share the cores instead of each taking all of them (train.threads = 0).
        let threads = max(1, ProcessInfo.processInfo.activeProcessorCount / min(maxParallel, max(queue.count, 1)))
        let environment = ["XMOE_AUTO_THREADS": "\(threads)", "XMOE_PROGRESS_INTERVAL": "2"]
        while !queue.isEmpty || !running.isEmpty {
            if interrupted != nil {
                running.forEach { $0.terminate() }
                queue.removeAll()
            }
            while running.count < maxParallel, !queue.isEmpty, interrupted == nil {
                // Planned again: the shared steps it waited for are done by now.
                let plan = (try? SweepPointPlan(point: queue[0].point)) ?? queue[0]
                queue.removeFirst()
                let process = try PointProcess(name: plan.point.name, spec: directory.pointSpec(plan.point.name),
                                               runDirectory: plan.runDirectory, environment: environment)
                running.append(process)
                display.event("\(plan.point.name): started (\(describe(plan))) — log \(displayPath(process.logURL))")
            }
            Thread.sleep(forTimeInterval: 0.2)
            for process in running where !process.isRunning {
                process.waitUntilExit()
                let seconds = Date().timeIntervalSince(process.started)
                let result: PointResult
                switch process.exitStatus {
                case 0: result = .succeeded
                case 130, 143: result = .interrupted
                default: result = .failed(process.failure())
                }
                results[process.name] = result
                display.finished(process.name, result: result, seconds: seconds)
                try? SweepSummaryFiles.write(sweep: sweep, directory: directory, outcomes: outcomes(results))
            }
            running.removeAll { !$0.isRunning }
            display.status(running: running)
        }
        display.close()
        return Outcome(points: outcomes(results), interruptedBy: interrupted)
    }

    /// Runs each shared step (today: prepare-data) once per distinct key, in a child whose output goes
    /// to this terminal. Points whose preparation failed are failed without being started.
    private func prepareSharedSteps(results: inout [String: PointResult]) throws {
        var byKey: [String: [SweepPointPlan]] = [:]
        var order: [String] = []
        for plan in plans where results[plan.point.name] == nil {
            guard let step = plan.steps.first(where: { $0.step == "prepare-data" }), step.status != .upToDate else { continue }
            if byKey[step.key] == nil { order.append(step.key) }
            byKey[step.key, default: []].append(plan)
        }
        for key in order {
            guard interrupted == nil else { break }
            let group = byKey[key]!
            let first = group[0]
            display.event("prepare-data for \(group.count) point\(group.count == 1 ? "" : "s") (\(group.map(\.point.name).joined(separator: ", ")))")
            let process = try PointProcess(name: first.point.name, spec: directory.pointSpec(first.point.name),
                                           runDirectory: first.runDirectory, extraArguments: ["--step", "prepare-data"],
                                           environment: [:], inheritOutput: true)
            process.waitUntilExit()
            if process.exitStatus == 130 || process.exitStatus == 143 { break }
            if process.exitStatus != 0 {
                let error = process.failure()
                for plan in group { results[plan.point.name] = .failed(error) }
            }
        }
    }

    private func describe(_ plan: SweepPointPlan) -> String {
        plan.steps.filter { $0.status != .upToDate }.map { "\($0.step): \($0.reasons.first ?? $0.status.rawValue)" }
            .joined(separator: "; ")
    }

    private func outcomes(_ results: [String: PointResult]) -> [PointOutcome] {
        plans.map { plan in
            PointOutcome(name: plan.point.name, result: results[plan.point.name]
                         ?? (interrupted != nil ? .notRun("the sweep was interrupted") : .notRun("pending")))
        }
    }
}
