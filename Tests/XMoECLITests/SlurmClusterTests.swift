import Foundation
import Testing

/// The sweep's `--launcher slurm` array script, submitted with sbatch to a real Slurm started on this
/// machine (`LocalSlurm`): a one-rank point and a 2-rank point (dp 2, ep 2, pft) each run as an array
/// task through `srun --mpi=pmix` (the script's default: Debian's Open MPI aborts in MPI_Init under
/// srun's `none` and `pmi2`) and leave their complete results, the 2-rank one a checkpoint file per
/// rank. Cancelled, with the reason, where the daemons cannot run.
@Suite(.serialized) struct SlurmClusterTests {
    @Test func sweepArrayRunsEveryPointUnderARealSlurm() throws {
        if let reason = LocalSlurm.unavailableReason { try Test.cancel("no local Slurm: \(reason)") }
        let dir = try SweepCommandTests().setUp(grid: """
            moe.top_k: [2]
              zip:
                - parallel.dp: [1, 2]
                  parallel.ep: [1, 2]
                  moe.dispatcher: [local, pft]
            """)
        defer { dir.cleanup() }
        let grid = dir.url.appendingPathComponent("grid.yaml")
        try dir.write("grid.yaml", try String(contentsOf: grid, encoding: .utf8)
            .replacingOccurrences(of: "\"e{moe.num_experts}-k{moe.top_k}\"", with: "\"dp{parallel.dp}\""))
        let slurm: LocalSlurm
        do {
            slurm = try LocalSlurm.start(in: dir.url.appendingPathComponent("slurm"))
        } catch let error as LocalSlurm.Unavailable {
            try Test.cancel("the Slurm daemons did not start here: \(error)")
        }
        defer { slurm.stop() }

        let sweep = try XMoEBinary.run(["sweep", "grid.yaml", "--launcher", "slurm", "--slurm-cpus-per-task", "1",
                                        "--slurm-time", "00:15:00"], in: dir.url)
        #expect(sweep.status == 0, "\(sweep.stderr)")
        let script = dir.url.appendingPathComponent("runs/grid/slurm/grid.sbatch")
        let text = try String(contentsOf: script, encoding: .utf8)
        #expect(text.contains("RANKS=(1 2)") && text.contains("srun --mpi=pmix --nodes=${NODES[$i]} --ntasks=${RANKS[$i]}"), "\(text)")
        // --oversubscribe: both tasks at once on a small machine (the partition allows sharing cores).
        let submit = try slurm.run("/usr/bin/sbatch", ["--parsable", "--oversubscribe", "--chdir", dir.url.path, script.path])
        let job = submit.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ";").first.map(String.init) ?? ""
        try #require(submit.status == 0 && Int(job) != nil, "sbatch: \(submit.output)")

        let deadline = Date().addingTimeInterval(600)
        while Date() < deadline {
            let queued = try slurm.run("/usr/bin/squeue", ["-h", "-j", job]).output
            if queued.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { break }
            usleep(500_000)
        }
        let states = try slurm.run("/usr/bin/scontrol", ["show", "job", "-o", job]).output
            .split(separator: "\n").map { line in
                line.split(separator: " ").filter { $0.hasPrefix("JobState=") || $0.hasPrefix("ExitCode=") }.joined(separator: " ")
            }
        #expect(states == ["JobState=COMPLETED ExitCode=0:0", "JobState=COMPLETED ExitCode=0:0"], "\(states)")

        for (point, ranks) in [("dp1", 1), ("dp2", 2)] {
            let run = dir.url.appendingPathComponent("runs/grid/\(point)")
            let read = try Python.run("""
                import sys, h5py
                f = h5py.File(sys.argv[1] + "/metrics.h5", "r")
                print(f["train/step"].shape[0], f["eval/step"][:].tolist(), f.attrs["run_name"])
                """, [run.path])
            #expect(read.output.trimmingCharacters(in: .whitespacesAndNewlines) == "6 [3.0, 6.0] \(point)", "\(point): \(read.output)")
            let latest = try? String(contentsOf: run.appendingPathComponent("checkpoints/latest"), encoding: .utf8)
            #expect(latest?.contains("step_000006") == true, "\(point) has no final checkpoint")
            // Every rank writes its own file of a checkpoint: two files only if srun started two ranks.
            let files = (try? FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent("checkpoints/step_000006").path)) ?? []
            let expected = (0..<ranks).map { String(format: "rank_%05d.h5", $0) }
            #expect(files.filter { $0.hasPrefix("rank_") }.sorted() == expected, "\(point): \(files)")
        }
        let logs = (try? FileManager.default.contentsOfDirectory(atPath: dir.url.appendingPathComponent("runs/grid/slurm").path)) ?? []
        #expect(logs.filter { $0.hasSuffix(".out") }.count == 2, "\(logs)")
    }
}
