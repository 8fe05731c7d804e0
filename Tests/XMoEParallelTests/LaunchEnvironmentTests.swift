import Testing
import XMoEParallel

@Suite struct LaunchEnvironmentTests {
    @Test func detectsOpenMPIsMpirun() {
        let launcher = DetectedLauncher.detect(in: ["OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_RANK": "2", "HOME": "/root"])
        #expect(launcher == DetectedLauncher(kind: .openMPI, worldSize: 4, rank: 2))
    }

    @Test func detectsPMIAndSrun() {
        #expect(DetectedLauncher.detect(in: ["PMI_SIZE": "8", "PMI_RANK": "7"])
            == DetectedLauncher(kind: .pmi, worldSize: 8, rank: 7))
        #expect(DetectedLauncher.detect(in: ["SLURM_STEP_NUM_TASKS": "16", "SLURM_PROCID": "3", "SLURM_JOB_ID": "99"])
            == DetectedLauncher(kind: .slurm, worldSize: 16, rank: 3))
    }

    @Test func openMPIWinsOverTheSlurmStepItRunsIn() {
        let environment = ["SLURM_STEP_NUM_TASKS": "2", "SLURM_PROCID": "0", "OMPI_COMM_WORLD_SIZE": "4"]
        #expect(DetectedLauncher.detect(in: environment) == DetectedLauncher(kind: .openMPI, worldSize: 4, rank: nil))
    }

    @Test func aPlainRunOrASlurmBatchScriptIsNoLaunch() {
        #expect(DetectedLauncher.detect(in: [:]) == nil)
        // A batch script has job variables but is not a task of an srun step.
        #expect(DetectedLauncher.detect(in: ["SLURM_JOB_ID": "5", "SLURM_NTASKS": "4"]) == nil)
        // A singleton MPI_Init exports PMIX_RANK but promises no world.
        #expect(DetectedLauncher.detect(in: ["PMIX_RANK": "0", "OMPI_MCA_ess": "singleton"]) == nil)
        #expect(DetectedLauncher.detect(in: ["OMPI_COMM_WORLD_SIZE": "zero"]) == nil)
    }

    @Test func childEnvironmentDropsJobStateAndKeepsUserSettings() {
        // Variables a singleton MPI_Init exported in Open MPI 4.1.4, plus user settings.
        let environment = [
            "OMPI_MCA_ess": "singleton", "OMPI_MCA_orte_launch": "1", "OMPI_MCA_pmix": "^s1,s2,cray,isolated",
            "PMIX_RANK": "0", "PMIX_SERVER_URI4": "tcp4://127.0.0.1:1", "ORTE_SCHIZO_DETECTION": "ORTE",
            "OMPI_APP_CTX_NUM_PROCS": "1", "OMPI_COMM_WORLD_SIZE": "1",
            "OMPI_MCA_btl_vader_single_copy_mechanism": "none", "OPENBLAS_NUM_THREADS": "1", "PATH": "/usr/bin",
        ]
        #expect(ChildLaunchEnvironment.cleaned(environment) == [
            "OMPI_MCA_btl_vader_single_copy_mechanism": "none", "OPENBLAS_NUM_THREADS": "1", "PATH": "/usr/bin",
        ])
    }
}
