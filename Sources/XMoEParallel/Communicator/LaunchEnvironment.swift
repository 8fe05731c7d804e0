import Foundation

/// What a process launcher promised this process, read from the environment it set.
public struct DetectedLauncher: Equatable, Sendable {
    public enum Kind: String, Sendable {
        /// Open MPI's `mpirun`/`mpiexec` (OMPI_COMM_WORLD_SIZE, OMPI_COMM_WORLD_RANK).
        case openMPI = "mpirun (Open MPI)"
        /// A PMI launcher such as MPICH's Hydra or Intel MPI (PMI_SIZE, PMI_RANK).
        case pmi = "PMI launcher"
        /// Slurm's `srun` (SLURM_STEP_NUM_TASKS, SLURM_PROCID); a batch script itself is not a task
        /// of a step, so it is not reported.
        case slurm = "srun (Slurm)"
    }

    public let kind: Kind
    /// The number of processes the launcher started for this job.
    public let worldSize: Int
    /// This process's rank as the launcher numbered it, when it says.
    public let rank: Int?

    public init(kind: Kind, worldSize: Int, rank: Int?) {
        self.kind = kind
        self.worldSize = worldSize
        self.rank = rank
    }

    /// Reads the launcher's variables from `environment`; nil when no launcher started this process
    /// (a plain run, where MPI comes up as a singleton of size 1). Checked in order of specificity:
    /// an Open MPI job started under srun reports Open MPI's own view.
    public static func detect(in environment: [String: String]) -> DetectedLauncher? {
        let candidates: [(Kind, size: String, rank: String)] = [
            (.openMPI, "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"),
            (.pmi, "PMI_SIZE", "PMI_RANK"),
            (.slurm, "SLURM_STEP_NUM_TASKS", "SLURM_PROCID"),
        ]
        for (kind, sizeKey, rankKey) in candidates {
            guard let text = environment[sizeKey], let size = Int(text.trimmingCharacters(in: .whitespaces)), size >= 1 else { continue }
            let rank = environment[rankKey].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            return DetectedLauncher(kind: kind, worldSize: size, rank: rank)
        }
        return nil
    }
}

/// Environment hygiene for starting `mpirun` from a process that may itself run MPI.
public enum ChildLaunchEnvironment {
    /// `environment` without the variables a launcher or a singleton `MPI_Init` put there
    /// (OMPI_MCA_ess=singleton, PMIX_*, OMPI_COMM_WORLD_*, …): a child `mpirun` that inherits them
    /// believes it already runs inside a job. User settings such as `OMPI_MCA_btl_…` are kept.
    public static func cleaned(_ environment: [String: String]) -> [String: String] {
        environment.filter { key, _ in !isJobState(key) }
    }

    /// What Open MPI 4.1's mpirun and singleton init export to their processes (seen with `env`).
    static let jobStatePrefixes = [
        "PMIX_", "PMI_", "ORTE_", "OPAL_", "OMPI_COMM_WORLD_", "OMPI_APP_", "OMPI_UNIVERSE_", "OMPI_FIRST_RANKS",
        "OMPI_FILE_LOCATION", "OMPI_NUM_APP_CTX", "OMPI_ARGV", "OMPI_COMMAND", "OMPI_MCA_orte_", "OMPI_MCA_ess",
        "OMPI_MCA_pmix", "OMPI_MCA_initial_wdir", "OMPI_MCA_shmem_RUNTIME_QUERY_hint", "OMPI_MCA_mpi_oversubscribe",
    ]

    static func isJobState(_ key: String) -> Bool {
        jobStatePrefixes.contains { key.hasPrefix($0) }
    }
}
