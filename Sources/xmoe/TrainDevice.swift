import XMoECompute
import XMoEComputeCUDA
import XMoESpec

/// `train.device`: the backend a rank trains on. The CUDA libraries are loaded with dlopen, so this
/// binary builds and runs on machines without them; there `cuda` is refused before anything runs.
enum TrainDevice {
    static func isCUDA(_ spec: ExperimentSpec) -> Bool { spec.values.string("train.device") == "cuda" }

    /// The backend of `spec`'s device. The commands checked the device up front (`unavailableErrors`);
    /// a spec that reaches here another way gets the loader's reason as a thrown error.
    static func makeBackend(spec: ExperimentSpec, threads: Int) throws -> Backend {
        guard isCUDA(spec) else { return CPUBackend(threads: threads) }
        do {
            return try CUDABackend()
        } catch {
            throw TrainStep.Unsupported(description: "train.device = cuda: \(error)")
        }
    }

    /// The located reason `spec`'s device cannot be used on this machine (a missing CUDA library, no
    /// GPU), empty when it can; `xmoe plan` and `xmoe run` refuse the spec with it.
    static func unavailableErrors(_ spec: ExperimentSpec) -> [SpecError] {
        guard isCUDA(spec) else { return [] }
        do {
            _ = try CUDABackend.probe()
            return []
        } catch {
            return [SpecError("cuda cannot run on this machine. \(error) "
                              + "Train on a machine with an NVIDIA GPU, or set train.device=cpu.",
                              at: spec.values.location("train.device"), key: "train.device")]
        }
    }

    /// Why `spec`'s layout cannot run on its device yet, as a layout reason (`RankEnvironment`).
    static func unsupportedReasons(_ spec: ExperimentSpec) -> [String] {
        let world = spec.values.int("parallel.dp")! * spec.values.int("parallel.tp")!
        guard isCUDA(spec), world > 1 else { return [] }
        return ["train.device = cuda runs on one rank (one GPU) for now: \(world) ranks need NCCL collectives on device memory, "
                + "not built yet; use parallel.dp=1 parallel.tp=1 parallel.ep=1, or train.device=cpu for a multi-rank run"]
    }
}
