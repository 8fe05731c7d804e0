import Foundation
import XMoEParallel
import XMoESpec

/// This process's place in a multi-rank run, for code that runs on every rank (the train step).
enum RankEnvironment {
    /// The process groups of this rank for `spec`'s layout: `.single()` for one rank, else over the
    /// MPI world the launcher started (built once per process; every rank must call it, in the same
    /// order relative to other collectives, since building the groups is collective).
    static func groups(for spec: ExperimentSpec) throws -> ProcessGroups {
        let layout = try self.layout(for: spec)
        return try cache.groups(layout: layout)
    }

    /// `spec`'s layout, refused with every reason when this version cannot run it.
    static func layout(for spec: ExperimentSpec) throws -> GroupLayout {
        let v = spec.values
        if let reason = unsupportedReason(spec) { throw GroupLayout.Invalid(description: reason) }
        return try GroupLayout(dp: v.int("parallel.dp")!, tp: v.int("parallel.tp")!, ep: v.int("parallel.ep")!,
                               ranksPerNode: v.int("parallel.ranks_per_node")!)
    }

    /// Why this version cannot run `spec`'s parallel layout, or nil (all reasons, one per line).
    static func unsupportedReason(_ spec: ExperimentSpec) -> String? {
        let reasons = unsupportedReasons(spec)
        return reasons.isEmpty ? nil : reasons.joined(separator: "\n")
    }

    /// Every reason this version cannot run `spec`'s layout; empty when it can.
    static func unsupportedReasons(_ spec: ExperimentSpec) -> [String] {
        let v = spec.values
        return LayoutSupport.unsupportedReasons(
            dp: v.int("parallel.dp")!, tp: v.int("parallel.tp")!, ep: v.int("parallel.ep")!,
            ranksPerNode: v.int("parallel.ranks_per_node")!, experts: v.int("moe.num_experts")!,
            dispatcher: v.string("moe.dispatcher")!) + TrainDevice.unsupportedReasons(spec)
    }

    /// True on the rank that writes records, metrics and summaries (rank 0, or a single process).
    static var isLeader: Bool { RankSession.shared.role != .follower }

    private static let cache = GroupsCache()

    private final class GroupsCache: @unchecked Sendable {
        private let lock = NSLock()
        private var built: (GroupLayout, ProcessGroups)?

        func groups(layout: GroupLayout) throws -> ProcessGroups {
            lock.lock()
            defer { lock.unlock() }
            if let (l, g) = built, l == layout { return g }
            let g = layout.worldSize == 1 ? try ProcessGroups.single()
                : try ProcessGroups(world: MPICommunicator.world(), layout: layout)
            built = (layout, g)
            return g
        }
    }
}
