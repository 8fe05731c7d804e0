import Foundation
import XMoEParallel
import XMoEPipeline

/// How the ranks of one `xmoe run` divide the work. Rank 0 (the leader) runs the pipeline (data
/// preparation, records, locks, spec.resolved.yaml); the other ranks (followers) wait until the
/// leader reaches a collective step (the train step), then run that step's body with it. The leader
/// tells them by a broadcast: "run this step with this context", or "done, exit".
final class RankSession: @unchecked Sendable {
    enum Role: Equatable { case single, leader, follower }

    static let shared = RankSession()

    private let lock = NSLock()
    private var world: MPICommunicator?
    private(set) var role: Role = .single
    private var announced = false
    private var collectiveFailed = false

    var rank: Int { world?.rank ?? 0 }

    /// What the leader broadcasts. JSON, so its length travels with it.
    struct Announcement: Codable {
        /// Run `context.stepName` with this context; nil: the leader is done, exit.
        var step: TransferableStepContext?
    }

    func join(world: MPICommunicator) {
        lock.withLock {
            self.world = world
            role = world.rank == 0 ? .leader : .follower
        }
    }

    /// Leader: wakes the followers for the step of `context` (at most once per run).
    func announce(_ context: StepContext) throws {
        guard role == .leader, let world else { return }
        let first = lock.withLock { () -> Bool in defer { announced = true }; return !announced }
        guard first else { return }
        try broadcast(Announcement(step: TransferableStepContext(context)), world)
    }

    /// Follower: blocks until the leader announces a step or says it is done.
    func awaitAnnouncement() throws -> Announcement {
        guard let world else { fatalError("awaitAnnouncement outside a multi-rank run") }
        var bytes: [UInt8] = []
        try world.broadcast(&bytes, root: 0)
        return try JSONDecoder().decode(Announcement.self, from: Data(bytes))
    }

    private func broadcast(_ announcement: Announcement, _ world: MPICommunicator) throws {
        var bytes = Array(try JSONEncoder().encode(announcement))
        try world.broadcast(&bytes, root: 0)
    }

    /// Runs a collective step's body. On a failure the message goes out as "rank R: …"; a follower
    /// then ends the whole job at once (its peers may wait for it in a collective), the leader lets
    /// the pipeline record the failure first and ends the job in `finish`.
    func runCollective<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            FileHandle.standardError.write(Data("rank \(rank): \(error)\n".utf8))
            switch role {
            case .single: break
            case .leader: lock.withLock { collectiveFailed = true }
            case .follower: MPIRuntime.abortJob(exitCode: 1)
            }
            throw error
        }
    }

    /// Leader, on every way out of `xmoe run`: followers still waiting are told to exit; after a
    /// failed collective step the job is aborted (followers may be inside a collective); otherwise
    /// MPI is finalised with everyone.
    func finish() {
        guard role == .leader, let world else { return }
        let (wasAnnounced, failed) = lock.withLock { (announced, collectiveFailed) }
        if failed { MPIRuntime.abortJob(exitCode: 1) }
        if !wasAnnounced {
            do { try broadcast(Announcement(step: nil), world) } catch { MPIRuntime.abortJob(exitCode: 1) }
        }
        try? MPIRuntime.finalize()
    }
}

/// Makes a step collective: under a multi-rank run, the leader announces it to the followers
/// before running it, and every rank runs its body through `RankSession.runCollective`.
enum RankRole {
    static func collective(_ step: Step) -> Step {
        let body = step.body
        var wrapped = Step(name: step.name, upstream: step.upstream, inputs: step.inputs, formatVersion: step.formatVersion,
                           shared: step.shared) { context in
            let session = RankSession.shared
            if session.role == .leader { try session.announce(context) }
            return try session.runCollective {
                try injectedFault(rank: session.rank)
                return try body(context)
            }
        }
        wrapped.planNote = step.planNote
        return wrapped
    }

    struct InjectedFault: Error, CustomStringConvertible {
        let description: String
    }

    /// `XMOE_FAIL_RANK=R` makes rank R fail as the collective step starts, while the other ranks go
    /// on into its collectives: how the failure path (message, MPI_Abort, records) is exercised,
    /// like `xmoe-comm-check --fail-on-rank`.
    static func injectedFault(rank: Int) throws {
        guard let text = ProcessInfo.processInfo.environment["XMOE_FAIL_RANK"], Int(text) == rank else { return }
        throw InjectedFault(description: "deliberate failure on rank \(rank) (XMOE_FAIL_RANK=\(text))")
    }
}
