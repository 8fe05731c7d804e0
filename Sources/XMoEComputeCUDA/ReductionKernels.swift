/// Whole-buffer reductions for the optimizer (gradient norm, the NaN guard), appended to
/// `KernelSource`'s translation unit. A fixed grid (`LaunchShape.bufferReduction`, from the element
/// count alone) strides over the buffer; each block reduces in a fixed tree and one block adds the
/// block results in index order: no atomics, so the same buffer gives the same bits on every run.
enum ReductionKernels {
    static let kernelNames = ["xmoe_sumsq_partial", "xmoe_sum_partials", "xmoe_nonfinite_partial", "xmoe_any_partials"]

    /// Uses `GRID_LOOP` and `i64` from the main source. Squares add in double: the norm of a
    /// billion-element gradient keeps its digits, as the CPU backend's Double sum does.
    static let source = """

        // Whole-buffer reductions (ReductionKernels.swift).
        __device__ double block_sum_f64(double v) {
            __shared__ double partial[32];
            for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
            const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
            __syncthreads();
            if (lane == 0) partial[warp] = v;
            __syncthreads();
            v = lane < (int)(blockDim.x >> 5) ? partial[lane] : 0.0;
            for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
            return v;
        }
        extern "C" __global__ void xmoe_sumsq_partial(const float* x, i64 n, double* partial) {
            double s = 0.0;
            GRID_LOOP(i, n) { const double d = (double)x[i]; s += d * d; }
            s = block_sum_f64(s);
            if (threadIdx.x == 0) partial[blockIdx.x] = s;
        }
        // One block: partial[count] = Σ partial[0..<count].
        extern "C" __global__ void xmoe_sum_partials(double* partial, int count) {
            double s = 0.0;
            for (int i = threadIdx.x; i < count; i += blockDim.x) s += partial[i];
            s = block_sum_f64(s);
            if (threadIdx.x == 0) partial[count] = s;
        }
        // An exponent of all ones is NaN or ±Inf; a bit test, so no compiler flag can fold it away.
        extern "C" __global__ void xmoe_nonfinite_partial(const float* x, i64 n, int* partial) {
            int bad = 0;
            GRID_LOOP(i, n) { if ((__float_as_uint(x[i]) & 0x7f800000u) == 0x7f800000u) bad = 1; }
            bad = __syncthreads_or(bad);
            if (threadIdx.x == 0) partial[blockIdx.x] = bad;
        }
        // One block: partial[count] = 1 when any partial[0..<count] is.
        extern "C" __global__ void xmoe_any_partials(int* partial, int count) {
            int bad = 0;
            for (int i = threadIdx.x; i < count; i += blockDim.x) bad |= partial[i];
            bad = __syncthreads_or(bad);
            if (threadIdx.x == 0) partial[count] = bad ? 1 : 0;
        }
        """
}

extension LaunchShape {
    /// Blocks of a whole-buffer reduction at most: enough to fill a GPU, few enough that one block
    /// adds their results quickly.
    public static let maxReductionBlocks = 1024

    /// The first pass of a whole-buffer reduction over `count` elements (a block per 256 elements
    /// up to `maxReductionBlocks`, grid-striding beyond); nil for an empty buffer.
    public static func bufferReduction(count: Int) -> LaunchShape? {
        guard count > 0 else { return nil }
        let blocks = min((count + elementwiseBlock - 1) / elementwiseBlock, maxReductionBlocks)
        return LaunchShape(grid: (UInt32(blocks), 1, 1), block: (UInt32(elementwiseBlock), 1, 1))
    }
}
