import COpenBLAS
import Dispatch

/// The CPU backend: matrix products through OpenBLAS `cblas_sgemm`, everything else in plain loops
/// over unsafe buffers, split over rows (or columns, for reductions over rows) across `threads`.
///
/// Each row's result is computed by one thread in a fixed order, so results do not depend on
/// `threads`. OpenBLAS runs single-threaded (a process-wide setting); gemms are split over rows
/// by this backend instead (see Ops/Gemm.swift).
public final class CPUBackend: Backend {
    /// Threads for all loops, gemm row blocks included.
    public let threads: Int
    /// `.float32` (the default) or `.bfloat16`: with bf16 the model hands the GEMMs bf16 weights and
    /// activations, which this backend widens and multiplies in fp32 — it EMULATES the CUDA
    /// backend's bf16 numerics, as the reference the GPU path is checked against.
    public let computeDType: DType
    /// Bytes of this backend's tensors alive now and at most (what a GPU allocator's peak would be).
    public let memoryTally = HostMemoryTally()

    /// Flash attention is as fast as the materialised ops here (quickstart shape) and faster at long
    /// sequences, and keeps no S×S probabilities.
    public var prefersFlashAttention: Bool { true }

    public init(threads: Int = 1, computeDType: DType = .float32) {
        precondition(threads >= 1, "CPUBackend needs at least one thread, got \(threads)")
        precondition(computeDType == .float32 || computeDType == .bfloat16,
                     "CPUBackend computes in float32 or bfloat16, not \(computeDType)")
        self.threads = threads
        self.computeDType = computeDType
        openblas_set_num_threads(1)
    }

    /// Runs `body` on contiguous sub-ranges that cover 0..<count, at most `threads` at once.
    /// `body` must write only what belongs to its own indices, so the split cannot change results.
    /// `minPerChunk` keeps tiny loops on one thread, where dispatch costs more than the work.
    func parallelFor(_ count: Int, minPerChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        let chunks = min(threads, max(1, count / max(minPerChunk, 1)))
        if chunks <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        // The chunks touch disjoint indices (the contract above), which the compiler cannot see.
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let body = body
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let lower = count * chunk / chunks
                let upper = count * (chunk + 1) / chunks
                if lower < upper { body(lower..<upper) }
            }
        }
    }
}

/// Shape checks shared by the CPU ops; a failure is a programming error in the caller.
@inline(__always)
func expectShape(_ tensor: Tensor, _ shape: [Int], _ name: String, file: StaticString = #file, line: UInt = #line) {
    precondition(tensor.shape == shape, "\(name): shape \(tensor.shape), expected \(shape)", file: file, line: line)
}

@inline(__always)
func expectCount(_ tensor: Tensor, _ count: Int, _ name: String, file: StaticString = #file, line: UInt = #line) {
    precondition(tensor.count == count, "\(name): \(tensor.count) elements (shape \(tensor.shape)), expected \(count)", file: file, line: line)
}

/// GEMM dtype rule: A and B float32, or both the same 16-bit type; C float32.
@inline(__always)
func checkGemmDTypes(_ a: Tensor, _ b: Tensor, _ c: Tensor, _ name: String) {
    precondition(a.dtype == b.dtype && (a.dtype == .float32 || a.dtype == .bfloat16 || a.dtype == .float16),
                 "\(name): operands \(a.dtype) and \(b.dtype); both must be float32 or both bfloat16")
    precondition(c.dtype == .float32, "\(name): output is \(c.dtype); it must be float32 (fp32 accumulation)")
}
