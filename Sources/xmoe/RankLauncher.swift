import ArgumentParser
import Foundation
import XMoEParallel
import XMoEPipeline
import XMoESpec

/// How `xmoe run` becomes a multi-rank job. Not under a launcher, it starts `mpirun -np N` on
/// itself and passes on its exit status; under `mpirun` or `srun` it joins the MPI world, and
/// every rank but 0 becomes a follower (see `RankSession`).
enum RankLauncher {
    /// Call first in `xmoe run`, with the loaded spec. Returns true when this process's work is
    /// done (it launched the job, or it was a follower); false when it should run the pipeline
    /// (a single rank, or the leader).
    static func takeOver(spec: ExperimentSpec, arguments: [String] = CommandLine.arguments) throws -> Bool {
        if let reason = RankEnvironment.unsupportedReason(spec) {
            Terminal.error("xmoe: \(spec.name): this version cannot run the layout:\n" + reason.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
            throw ExitCode(2)
        }
        let world = spec.values.int("parallel.world_size")!
        guard let launcher = MPIRuntime.detectedLauncher, launcher.worldSize > 1 else {
            if world == 1 { return false }
            try launchMpirun(ranks: world, arguments: arguments)
            return true
        }
        guard launcher.worldSize == world else {
            // Every rank sees the same numbers, so every rank stops here; only rank 0 says why.
            if (launcher.rank ?? 0) == 0 {
                Terminal.error("xmoe: \(launcher.kind.rawValue) started \(launcher.worldSize) ranks but \(spec.name) needs parallel.world_size = \(world) (dp·tp); start it with -np \(world) or change parallel.dp")
            }
            throw ExitCode(2)
        }
        let comm = try MPICommunicator.world()
        guard comm.size == world else {
            Terminal.error("xmoe: rank \(comm.rank): MPI sees a world of \(comm.size), the launcher started \(launcher.worldSize): this binary's MPI is not the launcher's (check `mpirun --version`; try xmoe-comm-check)")
            MPIRuntime.abortJob(exitCode: 2)
        }
        RankSession.shared.join(world: comm)
        if RankSession.shared.role == .leader { return false }
        try follow(spec: spec)
        return true
    }

    /// Call on every way out of the leader's `xmoe run` (a `defer`).
    static func finish() { RankSession.shared.finish() }

    /// A follower: wait for the leader; run the step it announces, or exit when it says done.
    private static func follow(spec: ExperimentSpec) throws {
        let session = RankSession.shared
        let announcement: RankSession.Announcement
        do {
            announcement = try session.awaitAnnouncement()
        } catch {
            Terminal.error("rank \(session.rank): waiting for rank 0: \(error)")
            MPIRuntime.abortJob(exitCode: 1)
        }
        guard let transfer = announcement.step else {
            try? MPIRuntime.finalize()
            return
        }
        let dag = try session.runCollective { try ExperimentDAG(spec: spec) }
        guard let step = dag.pipeline.steps.first(where: { $0.name == transfer.stepName }) else {
            Terminal.error("rank \(session.rank): rank 0 announced step '\(transfer.stepName)', which this rank's DAG does not have")
            MPIRuntime.abortJob(exitCode: 1)
        }
        _ = try step.body(transfer.context())
        try? MPIRuntime.finalize()
    }

    /// Starts `mpirun -np N` on this executable with the same arguments, shows its output (only
    /// rank 0 prints) and exits with its status.
    private static func launchMpirun(ranks: Int, arguments: [String]) throws {
        var environment = ChildLaunchEnvironment.cleaned(ProcessInfo.processInfo.environment)
        guard let mpirun = onPath("mpirun", environment["PATH"]) else {
            Terminal.error("xmoe: parallel.world_size = \(ranks) needs `mpirun` (Open MPI) on PATH: install openmpi-bin, or start xmoe under srun/mpirun yourself")
            throw ExitCode(1)
        }
        // N ranks share this machine's cores: split them unless the user chose.
        if environment["XMOE_AUTO_THREADS"] == nil {
            environment["XMOE_AUTO_THREADS"] = String(max(1, ProcessInfo.processInfo.activeProcessorCount / ranks))
        }
        if environment["OPENBLAS_NUM_THREADS"] == nil { environment["OPENBLAS_NUM_THREADS"] = "1" }
        let process = Process()
        process.executableURL = mpirun
        process.arguments = mpirunArguments(ranks: ranks, executable: selfExecutable(), arguments: Array(arguments.dropFirst()))
        process.environment = environment
        try process.run()
        // mpirun runs in a process group of its own, so Ctrl-C at the terminal reaches only this
        // process: every signal (SIGINT, SIGTERM, SIGHUP) goes on to mpirun as SIGTERM, which passes
        // it to the ranks; they stop together at the next step boundary and mpirun's exit status
        // becomes ours. A second signal still ends this process at once (InterruptHandler).
        let pid = process.processIdentifier
        InterruptHandler.onSignal { _ in kill(pid, SIGTERM) }
        InterruptHandler.cooperating(graceSeconds: 60) { process.waitUntilExit() }
        // Stopped on request: say so in the exit status (130, 143, 129), as a one-rank run does.
        if InterruptHandler.pendingSignal != nil { InterruptHandler.exitInterrupted() }
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        if status != 0 { throw ExitCode(status) }
    }

    /// mpirun's flags for a local job: oversubscribed (more ranks than cores is fine for CPU
    /// training and tests), unbound, yielding when idle, and allowed as root where we are root.
    static func mpirunArguments(ranks: Int, executable: String, arguments: [String]) -> [String] {
        (getuid() == 0 ? ["--allow-run-as-root"] : [])
            + ["--oversubscribe", "--bind-to", "none", "--mca", "mpi_yield_when_idle", "1", "-np", "\(ranks)", executable]
            + arguments
    }

    private static func selfExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? Bundle.main.executablePath ?? CommandLine.arguments[0]
    }

    private static func onPath(_ name: String, _ path: String?) -> URL? {
        (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
            .map { URL(fileURLWithPath: String($0)).appendingPathComponent(name) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }
}
