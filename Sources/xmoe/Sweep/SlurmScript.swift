import ArgumentParser
import Foundation
import XMoEBase
import XMoESpec

struct SlurmOptions: ParsableArguments {
    @Option(name: .customLong("slurm-partition"), help: "sbatch --partition for the array (slurm launcher).")
    var partition: String?

    @Option(name: .customLong("slurm-account"), help: "sbatch --account (slurm launcher).")
    var account: String?

    @Option(name: .customLong("slurm-time"), help: "sbatch --time per array task (slurm launcher).")
    var time: String = "24:00:00"

    @Option(name: .customLong("slurm-cpus-per-task"), help: "CPUs per rank (slurm launcher).")
    var cpusPerTask: Int = 8

    @Option(name: .customLong("slurm-mpi"),
            help: ArgumentHelp("srun --mpi plugin that starts the ranks; `default` leaves it to the cluster's MpiDefault.",
                               discussion: "xmoe's Open MPI starts under srun only through PMIx (pmi2 and none abort in MPI_Init), so pmix unless the cluster says otherwise.",
                               valueName: "plugin"))
    var mpi: String = "pmix"

    /// The `--mpi` value srun gets, or nil to use the cluster's `MpiDefault`.
    var srunMPI: String? { mpi == "default" ? nil : mpi }
}

/// An sbatch array script, one task per point: each task `srun`s `xmoe run points/<point>.yaml`
/// with the ranks the point's layout asks for. The array is sized for the largest point; a task
/// asks srun for its own point's ranks and nodes. Tasks that read the same data wait on the shared
/// cache's lock while the first prepares it, so the filesystem must support flock (Lustre mounted
/// with `flock`, GPFS, NFSv4); or prepare first with `xmoe run <points/…yaml> --step prepare-data`.
struct SlurmScript {
    struct Task {
        let name: String
        let ranks: Int
        let nodes: Int
        let ranksPerNode: Int
    }

    let sweep: SweepSpec
    let directory: SweepDirectory
    let options: SlurmOptions
    let maxParallel: Int?
    let tasks: [Task]

    init(sweep: SweepSpec, directory: SweepDirectory, options: SlurmOptions, maxParallel: Int?) throws {
        self.sweep = sweep
        self.directory = directory
        self.options = options
        self.maxParallel = maxParallel
        tasks = sweep.points.map { point in
            let ranks = point.spec.values.int("parallel.world_size")!
            let perNode = min(point.spec.values.int("parallel.ranks_per_node")!, ranks)
            return Task(name: point.name, ranks: ranks, nodes: (ranks + perNode - 1) / perNode, ranksPerNode: perNode)
        }
    }

    var url: URL { directory.slurmDirectory.appendingPathComponent("\(sweep.name).sbatch") }

    func write() throws -> URL {
        try FileManager.default.createDirectory(at: directory.slurmDirectory, withIntermediateDirectories: true)
        try AtomicWrite.write(render(workingDirectory: FileManager.default.currentDirectoryPath,
                                     executable: PointProcess.executablePath), to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        return url
    }

    func render(workingDirectory: String, executable: String) -> String {
        let maxNodes = tasks.map(\.nodes).max() ?? 1
        let maxPerNode = tasks.map(\.ranksPerNode).max() ?? 1
        var lines = [
            "#!/bin/bash",
            "# xmoe sweep \(sweep.name): \(tasks.count) point\(tasks.count == 1 ? "" : "s"), one array task each.",
            "# Written by `xmoe sweep \(sweep.files.last ?? "") --launcher slurm`; submit with: sbatch \(displayPath(url))",
            "#SBATCH --job-name=xmoe-\(sweep.name)",
            "#SBATCH --array=1-\(tasks.count)" + (maxParallel.map { "%\($0)" } ?? ""),
            "#SBATCH --nodes=\(maxNodes)",
            "#SBATCH --ntasks-per-node=\(maxPerNode)",
            "#SBATCH --cpus-per-task=\(options.cpusPerTask)",
            "#SBATCH --time=\(options.time)",
            "#SBATCH --output=\(directory.slurmDirectory.path)/%x-%A_%a.out",
        ]
        if let partition = options.partition { lines.append("#SBATCH --partition=\(partition)") }
        if let account = options.account { lines.append("#SBATCH --account=\(account)") }
        lines += [
            "set -euo pipefail",
            "cd \(shellQuoted(workingDirectory))",
            "",
            "# point  ranks  nodes  ranks-per-node",
            "POINTS=(" + tasks.map { shellQuoted($0.name) }.joined(separator: " ") + ")",
            "RANKS=(" + tasks.map { "\($0.ranks)" }.joined(separator: " ") + ")",
            "NODES=(" + tasks.map { "\($0.nodes)" }.joined(separator: " ") + ")",
            "PER_NODE=(" + tasks.map { "\($0.ranksPerNode)" }.joined(separator: " ") + ")",
            "i=$((SLURM_ARRAY_TASK_ID - 1))",
            "POINT=${POINTS[$i]}",
            "echo \"xmoe sweep \(sweep.name): point $POINT (task $SLURM_ARRAY_TASK_ID of \(tasks.count))\"",
            "export XMOE_AUTO_THREADS=$SLURM_CPUS_PER_TASK",
            "srun " + (options.srunMPI.map { "--mpi=\(shellQuoted($0)) " } ?? "")
                + "--nodes=${NODES[$i]} --ntasks=${RANKS[$i]} --ntasks-per-node=${PER_NODE[$i]} "
                + "--cpus-per-task=$SLURM_CPUS_PER_TASK --kill-on-bad-exit=1 \\",
            "  \(shellQuoted(executable)) run \(shellQuoted(directory.pointsDirectory.path))/\"$POINT\".yaml",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Single-quoted for bash unless it is made only of characters that need no quoting.
func shellQuoted(_ text: String) -> String {
    let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+=/:,@%")
    if !text.isEmpty && text.allSatisfy({ safe.contains($0) }) { return text }
    return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
