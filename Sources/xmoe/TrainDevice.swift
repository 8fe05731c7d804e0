import XMoECompute
import XMoEComputeCUDA
import XMoESpec

/// `train.device`: the backend a rank trains on. The CUDA libraries are loaded with dlopen, so this
/// binary builds and runs on machines without them; there `cuda` is refused before anything runs.
enum TrainDevice {
    static func isCUDA(_ spec: ExperimentSpec) -> Bool { spec.values.string("train.device") == "cuda" }

    /// `train.precision` resolved: `auto` is bf16 on cuda (mixed precision, as Megatron and torchtitan
    /// train on GPUs) and fp32 on cpu (exact, and faster there than emulated bf16).
    static func precision(_ spec: ExperimentSpec) -> String {
        let given = spec.values.string("train.precision") ?? "auto"
        return given == "auto" ? (isCUDA(spec) ? "bf16" : "fp32") : given
    }

    /// The backend's compute dtype for `precision`: masters, gradients and moments stay fp32 either way.
    static func computeDType(_ spec: ExperimentSpec) -> DType { precision(spec) == "bf16" ? .bfloat16 : .float32 }

    /// The backend of `spec`'s device. The commands checked the device up front (`unavailableErrors`);
    /// a spec that reaches here another way gets the loader's reason as a thrown error.
    static func makeBackend(spec: ExperimentSpec, threads: Int) throws -> Backend {
        let dtype = computeDType(spec)
        guard isCUDA(spec) else { return CPUBackend(threads: threads, computeDType: dtype) }
        do {
            return try CUDABackend(computeDType: dtype)
        } catch {
            throw TrainStep.Unsupported(description: "train.device = cuda: \(error)")
        }
    }

    /// After a cuda run: the caching allocator's peak bytes in use next to `xmoe plan`'s estimate, so
    /// a user sees how far the estimate is from what the run took; nil on the CPU.
    static func peakMemoryNote(backend: Backend, spec: ExperimentSpec) -> String? {
        guard let cuda = backend as? CUDABackend else { return nil }
        let peak = cuda.allocatorBook.peakBytesInUse, estimate = LayoutReport(spec: spec).gpuEstimate.totalBytes
        return "GPU memory: peak \(Format.bytes(peak)) in use (allocator, size classes included); "
            + "xmoe plan estimated \(Format.bytes(estimate)) (precision \(precision(spec)))"
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
