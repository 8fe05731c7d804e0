import Foundation
import Testing

/// `xmoe sweep` end to end on a tiny model over a tiny corpus: expansion, shared data, failures,
/// resuming, the summary read back with h5py/csv, and the Slurm script.
@Suite(.serialized) struct SweepCommandTests {
    static let documents = (0..<120).map {
        "{\"text\": \"Verse \($0). And the light shone in the darkness, and the darkness comprehended it not, \($0 % 7) times.\"}"
    }

    /// A 2 × 2 grid over `grid` (key: values) on a tiny quickstart; `extra` adds sweep-file lines.
    func setUp(grid: String = "moe.num_experts: [2, 4]\n    moe.top_k: [1, 2]", extra: String = "") throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory()
        try dir.write("corpus.jsonl", Self.documents.joined(separator: "\n") + "\n")
        let root = XMoEBinary.repositoryRoot.path
        try dir.write("grid.yaml", """
            extends: \(root)/configs/quickstart.yaml
            name: grid
            data:
              input: corpus.jsonl
              vocab_file: \(root)/data/gpt2/vocab.json
              merge_file: \(root)/data/gpt2/merges.txt
              workers: 1
              split: "90,10,0"
            model: {hidden: 32, heads: 2, ffn_hidden: 64, seq_length: 16}
            moe: {expert_ffn_hidden: 32}
            train: {micro_batch: 2, global_batch: null, iters: 6, warmup_iters: 1, eval_interval: 3, eval_iters: 1, save_interval: 3, threads: 1}
            sweep:
              name: "e{moe.num_experts}-k{moe.top_k}"
              grid:
                \(grid)
            \(extra)
            """)
        return dir
    }

    @Test func dryRunPrintsEveryPointAndWritesNothing() throws {
        let dir = try setUp()
        defer { dir.cleanup() }
        let result = try XMoEBinary.run(["sweep", "grid.yaml", "--dry-run"], in: dir.url)
        #expect(result.status == 0, "\(result.stderr)")
        let rows = result.stdout.split(separator: "\n").filter { $0.contains(" e2-k") || $0.contains(" e4-k") }
        #expect(rows.count == 4, "\(result.stdout)")
        // First grid key varies slowest.
        let names = rows.map { $0.split(separator: " ", omittingEmptySubsequences: true)[1] }
        #expect(names == ["e2-k1", "e2-k2", "e4-k1", "e4-k2"])
        #expect(rows.allSatisfy { $0.contains("will run (shared by 4)") }, "\(result.stdout)")
        #expect(result.stdout.contains("4 points, 4 to run"))
        #expect(!FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("runs").path))
    }

    @Test func anInvalidPointIsNamedWithItsValuesAndNothingRuns() throws {
        let dir = try setUp(grid: "moe.top_k: [1, 9]")
        defer { dir.cleanup() }
        let result = try XMoEBinary.run(["sweep", "grid.yaml"], in: dir.url)
        #expect(result.status == 2)
        #expect(result.stderr.contains("moe.top_k=9"), "\(result.stderr)")
        #expect(!result.stderr.contains("moe.top_k=1)"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("runs").path))
    }

    /// Two points run by hand first (a sweep stopped half-way); the sweep runs only the other two,
    /// prepares the data once, and its summary holds the runs' own final eval losses.
    @Test func resumesAHalfFinishedSweepAndSummarisesFromTheMetrics() throws {
        let dir = try setUp()
        defer { dir.cleanup() }
        #expect(try XMoEBinary.run(["sweep", "grid.yaml", "--dry-run"], in: dir.url).status == 0)
        // The point specs are written by a (non-dry) sweep; run it with a launcher that runs nothing.
        #expect(try XMoEBinary.run(["sweep", "grid.yaml", "--launcher", "slurm"], in: dir.url).status == 0)
        for point in ["e2-k1", "e4-k2"] {
            let run = try XMoEBinary.run(["run", "runs/grid/points/\(point).yaml"], in: dir.url)
            #expect(run.status == 0, "\(run.stderr)")
        }
        let sweep = try XMoEBinary.run(["sweep", "grid.yaml", "--max-parallel", "2"], in: dir.url)
        #expect(sweep.status == 0, "\(sweep.stdout)\n\(sweep.stderr)")
        let started = sweep.stdout.split(separator: "\n").filter { $0.contains(": started") }.map { String($0) }
        #expect(started.count == 2 && started.contains { $0.contains("e2-k2") } && started.contains { $0.contains("e4-k1") },
                "\(sweep.stdout)")
        #expect(!sweep.stdout.contains("prepare-data for"), "data was prepared again: \(sweep.stdout)")
        let cacheEntries = try FileManager.default.contentsOfDirectory(atPath: dir.url.appendingPathComponent("runs/cache/prepare-data").path)
            .filter { !$0.hasSuffix(".lock") }
        #expect(cacheEntries.count == 1, "\(cacheEntries)")

        let csv = try Python.run("""
            import csv, sys, h5py
            rows = list(csv.DictReader(open(sys.argv[1])))
            for row in rows:
                f = h5py.File(sys.argv[2] + '/' + row['point'] + '/metrics.h5', 'r')
                print(row['point'], row['moe.num_experts'], row['moe.top_k'], row['status'],
                      float(row['eval_loss']) == float(f['/eval/loss'][-1]),
                      float(row['best_eval_loss']) == float(min(f['/eval/loss'][()])))
            """, [dir.url.appendingPathComponent("runs/grid/summary.csv").path, dir.url.appendingPathComponent("runs/grid").path]).output
        #expect(csv.split(separator: "\n") == ["e2-k1 2 1 complete True True", "e2-k2 2 2 complete True True",
                                                "e4-k1 4 1 complete True True", "e4-k2 4 2 complete True True"], "\(csv)")
        let again = try XMoEBinary.run(["sweep", "grid.yaml"], in: dir.url)
        #expect(again.status == 0 && !again.stdout.contains(": started"), "\(again.stdout)")
        #expect(again.stdout.contains("0 to run"))

        // The sweep directory stands for its points in a report.
        let report = try XMoEBinary.run(["report", "runs/grid"], in: dir.url)
        #expect(report.status == 0, "\(report.stderr)")
        #expect(report.stdout.components(separatedBy: "\nstatus ").count - 1 == 4, "\(report.stdout)")
        for point in ["e2-k1", "e2-k2", "e4-k1", "e4-k2"] {
            let figure = dir.url.appendingPathComponent("runs/grid/report/expert-load-\(point).png")
            #expect(FileManager.default.fileExists(atPath: figure.path), "no \(figure.lastPathComponent)")
        }
    }

    @Test func aFailingPointIsReportedWhileTheOthersComplete() throws {
        // A split whose train share rounds to no document of this small corpus is valid as text but fails
        // when training starts (a zero train weight, "0,1,0", is refused with the spec instead).
        let dir = try setUp(grid: "data.split: [\"90,10,0\", \"1,1000000,0\"]", extra: "")
        defer { dir.cleanup() }
        try dir.write("grid.yaml", try String(contentsOf: dir.url.appendingPathComponent("grid.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "\"e{moe.num_experts}-k{moe.top_k}\"", with: "\"split{index}\""))
        let result = try XMoEBinary.run(["sweep", "grid.yaml"], in: dir.url)
        #expect(result.status == 1)
        #expect(result.stderr.contains("1 of 2 points failed"), "\(result.stderr)")
        #expect(result.stderr.contains("split2: train:") && result.stderr.contains("leaves no training documents"), "\(result.stderr)")
        let csv = try Python.run("""
            import csv, sys
            for row in csv.DictReader(open(sys.argv[1])): print(row['point'], row['status'], row['eval_loss'] != '')
            """, [dir.url.appendingPathComponent("runs/grid/summary.csv").path]).output
        #expect(csv.split(separator: "\n") == ["split1 complete True", "split2 failed False"], "\(csv)")
    }

    /// The array script for a 4-point grid, two of them with 2 ranks, run by bash with a recording `srun`.
    @Test func slurmScriptRunsOnePointPerArrayTask() throws {
        let dir = try setUp(grid: "parallel.dp: [1, 2]\n    moe.top_k: [1, 2]")
        defer { dir.cleanup() }
        try dir.write("grid.yaml", try String(contentsOf: dir.url.appendingPathComponent("grid.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "\"e{moe.num_experts}-k{moe.top_k}\"", with: "\"dp{parallel.dp}-k{moe.top_k}\""))
        let result = try XMoEBinary.run(["sweep", "grid.yaml", "--launcher", "slurm", "--max-parallel", "3",
                                         "--slurm-partition", "cpu"], in: dir.url)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("sbatch runs/grid/slurm/grid.sbatch"), "\(result.stdout)")
        let script = try String(contentsOf: dir.url.appendingPathComponent("runs/grid/slurm/grid.sbatch"), encoding: .utf8)
        #expect(script.contains("#SBATCH --array=1-4%3"))
        #expect(script.contains("#SBATCH --partition=cpu"))
        #expect(!FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("runs/grid/dp1-k1/metrics.h5").path))

        try dir.write("bin/srun", "#!/bin/sh\necho \"srun $*\"\n")
        chmod(dir.url.appendingPathComponent("bin/srun").path, 0o755)
        var lines: [String] = []
        for task in 1...4 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = [dir.url.appendingPathComponent("runs/grid/slurm/grid.sbatch").path]
            var env = ProcessInfo.processInfo.environment
            env["PATH"] = dir.url.appendingPathComponent("bin").path + ":" + (env["PATH"] ?? "/usr/bin:/bin")
            env["SLURM_ARRAY_TASK_ID"] = "\(task)"
            env["SLURM_CPUS_PER_TASK"] = "4"
            process.environment = env
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            lines += text.split(separator: "\n").filter { $0.hasPrefix("srun ") }.map(String.init)
        }
        let points = dir.url.appendingPathComponent("runs/grid/points").path
        let expected = [("dp1-k1", 1), ("dp1-k2", 1), ("dp2-k1", 2), ("dp2-k2", 2)].map { name, ranks in
            "srun --mpi=pmix --nodes=1 --ntasks=\(ranks) --ntasks-per-node=\(ranks) --cpus-per-task=4 --kill-on-bad-exit=1 "
                + "\(XMoEBinary.path) run \(points)/\(name).yaml"
        }
        #expect(lines == expected, "\(lines)")
        // Each task's spec file is a loadable spec with its point's values (a one-rank point: `xmoe config`
        // refuses multi-rank layouts until the engine trains them, ExperimentSpec.unsupportedLayoutReason).
        let config = try XMoEBinary.run(["config", "runs/grid/points/dp1-k2.yaml"], in: dir.url)
        #expect(config.stdout.contains("  dp: 1") && config.stdout.contains("  top_k: 2") && config.stdout.contains("name: \"dp1-k2\""),
                "\(config.stdout)")

        // `--slurm-mpi default` leaves the plugin to the cluster's MpiDefault; another name is passed on.
        for (choice, srun) in [("default", "srun --nodes="), ("pmi2", "srun --mpi=pmi2 --nodes=")] {
            let rewrite = try XMoEBinary.run(["sweep", "grid.yaml", "--launcher", "slurm", "--slurm-mpi", choice], in: dir.url)
            let again = try String(contentsOf: dir.url.appendingPathComponent("runs/grid/slurm/grid.sbatch"), encoding: .utf8)
            let srunLines = again.split(separator: "\n").filter { $0.hasPrefix("srun ") }
            #expect(rewrite.status == 0 && srunLines.count == 1 && srunLines[0].hasPrefix(srun), "\(choice): \(srunLines)")
        }
    }
}
