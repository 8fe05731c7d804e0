/// How the sm_90a expert GEMM reads its operands, one compiled kernel per layout and width:
/// - `weightsKContiguous`: C[seg_g] = A[seg_g] · Bt_gᵀ with Bt [E, N, K] (the data gradient dC · Wᵀ,
///   W [E, K, N] as stored is its Bt);
/// - `weightsNContiguous`: C[seg_g] = A[seg_g] · B_g with B [E, K, N] (the forward X · W; wgmma reads
///   B MN-major, transposed in shared memory by the descriptor, no copy of the weights);
/// - `weightGradient`: dW_g = A[seg_g]ᵀ · B[seg_g] into C [E, M, N] (A [rows, M], B [rows, N]; both
///   operands MN-major, the reduction runs over the expert's rows, whose last block is zeroed in
///   shared memory past the segment).
public enum ExpertGemmKernelLayout: Int, CaseIterable, Sendable {
    case weightsKContiguous = 0, weightsNContiguous = 1, weightGradient = 2

    /// Output-tile widths compiled; `ExpertGemmTiles.blockN` picks one per N. An MN-major B is
    /// loaded in 64-column boxes, so its widths are multiples of 64.
    public var blockWidths: [Int] { self == .weightsKContiguous ? [176, 256] : [128, 256] }

    var entrySuffix: String {
        switch self {
        case .weightsKContiguous: return ""
        case .weightsNContiguous: return "b_"
        case .weightGradient: return "wgrad_"
        }
    }
}

/// CUDA C++ of the sm_90a expert GEMM: TMA loads into 128-byte-swizzled shared memory, wgmma
/// with fp32 accumulators, one producer and two consumer warpgroups, persistent CTAs over a static
/// (expert, m-tile, n-tile) list. Compiled by NVRTC for `sm_90a` (wgmma and setmaxnreg exist only
/// there), apart from the other kernels, which compile for the plain architecture. Checked against
/// the CPU backend by `xmoe-gpu-check --expert-gemm`, every layout (the K-contiguous one first
/// against a float64 GPU reference in Benchmarks/gpu/c3-expert-gemm/).
enum ExpertGemmKernelSource {
    static let blockRows = 128
    static let threads = 384
    static let stages = 4
    /// Every width any layout compiles (for the shared-memory bound).
    static let blockWidths = Array(Set(ExpertGemmKernelLayout.allCases.flatMap(\.blockWidths))).sorted()

    static func kernelName(blockN: Int, layout: ExpertGemmKernelLayout = .weightsKContiguous) -> String {
        "xmoe_expert_gemm_tma_\(layout.entrySuffix)n\(blockN)"
    }

    /// Dynamic shared memory: the stage ring, the 2 · stages mbarriers, and 1 KiB for aligning
    /// the ring to the 1024 bytes the 128-byte swizzle needs.
    static func sharedBytes(blockN: Int) -> Int { stages * (blockRows * 64 * 2 + blockN * 64 * 2) + 2 * stages * 8 + 1024 }

    /// `deferRelease`: keep one wgmma group in flight and free a stage one k-step later (XT_DEFER).
    static func source(deferRelease: Bool = false) -> String {
        var text = deferRelease ? "#define XT_DEFER 1\n" : ""
        text += prologue
        for n in Set(ExpertGemmKernelLayout.allCases.flatMap(\.blockWidths)).sorted() { text += wgmmaFunction(n: n) }
        text += body
        for layout in ExpertGemmKernelLayout.allCases {
            for n in layout.blockWidths { text += "XT_ENTRY(\(n), \(layout.rawValue), \(kernelName(blockN: n, layout: layout)))\n" }
        }
        return text
    }

    /// `xg_wgmma_n<n><TA, TB>`: one m64n<n>k16 bf16 wgmma on the warpgroup's n/2 fp32 accumulators,
    /// A and B from shared memory by descriptor; TA/TB = 1 reads that operand MN-major.
    static func wgmmaFunction(n: Int) -> String {
        let count = n / 2
        let registers = (0..<count).map { "%\($0)" }.joined(separator: ", ")
        let outputs = (0..<count).map { "\"+f\"(d[\($0)])" }.joined(separator: ", ")
        return """
            template <int TA, int TB> __device__ __forceinline__ void xg_wgmma_n\(n)(float* d, u64 da, u64 db) {
                asm volatile(
                    "{\\n.reg .pred p;\\nsetp.ne.b32 p, %\(count + 2), 0;\\n"
                    "wgmma.mma_async.sync.aligned.m64n\(n)k16.f32.bf16.bf16 "
                    "{\(registers)}, %\(count), %\(count + 1), p, 1, 1, %\(count + 3), %\(count + 4);\\n}\\n"
                    : \(outputs)
                    : "l"(da), "l"(db), "r"(1), "n"(TA), "n"(TB));
            }

            """
    }

    private static let prologue = #"""
        // xmoe expert grouped GEMM for sm_90a, TMA + warp-specialised, in three operand layouts (MODE):
        // 0: C[seg_g] = A[seg_g] · Bt_gᵀ, A [rows, K], Bt [E·N, K] (both K-contiguous);
        // 1: C[seg_g] = A[seg_g] · B_g, B [E, K, N] N-contiguous (a 3-D tensor map: K past the end reads zeros);
        // 2: C_g = A[seg_g]ᵀ · B[seg_g], A [rows, M], B [rows, N], C [E·M, N]: the reduction is over the
        //    expert's rows (both operands MN-major; rows past the segment are zeroed in shared memory).
        // bf16 operands through TMA tensor maps with 128-byte swizzle, fp32 accumulation in wgmma, fp32 or
        // bf16 C. Persistent CTAs take tiles (expert, m-tile, n-tile) round-robin from a static list
        // (deterministic: every output element is one CTA's fixed-order sum). Warpgroup 0 issues TMA loads
        // into a STAGES-deep ring guarded by full/empty mbarriers; warpgroups 1 and 2 each run wgmma on 64
        // of the tile's 128 rows.
        typedef unsigned short bf16_t;
        typedef unsigned long long u64;
        struct __align__(64) XGTensorMap { u64 opaque[16]; };
        #define XT_BM 128
        #define XT_BK 64
        #define XT_THREADS 384
        #define XT_STAGES 4
        // A 64-column box of an MN-major operand: 64 rows (the k-step) of 128 bytes.
        #define XT_BOX 8192

        __device__ __forceinline__ unsigned xt_smem(const void* p) { return (unsigned)__cvta_generic_to_shared(p); }
        // K-major, 128-byte swizzle: 8-row groups 1024 bytes apart (the leading offset is unused).
        __device__ __forceinline__ u64 xt_desc(unsigned addr) {
            return (u64)((addr & 0x3FFFF) >> 4) | ((u64)1 << 16) | ((u64)(1024 >> 4) << 32) | ((u64)1 << 62);
        }
        // MN-major, 128-byte swizzle (CUTLASS's ((T,8,m),(8,k)):((1,T,LBO),(8T,SBO))): 64-element MN
        // chunks XT_BOX bytes apart (leading offset), 8-row k groups 1024 bytes apart (stride offset).
        __device__ __forceinline__ u64 xt_desc_mn(unsigned addr) {
            return (u64)((addr & 0x3FFFF) >> 4) | ((u64)(XT_BOX >> 4) << 16) | ((u64)(1024 >> 4) << 32) | ((u64)1 << 62);
        }
        __device__ __forceinline__ void xt_bar_init(unsigned bar, int count) {
            asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" :: "r"(bar), "r"(count));
        }
        __device__ __forceinline__ void xt_bar_wait(unsigned bar, int parity) {
            asm volatile("{\n.reg .pred done;\nWAIT_%=:\n"
                         "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
                         "@!done bra WAIT_%=;\n}\n" :: "r"(bar), "r"(parity) : "memory");
        }
        __device__ __forceinline__ void xt_bar_arrive(unsigned bar) {
            asm volatile("{\n.reg .b64 state;\nmbarrier.arrive.shared::cta.b64 state, [%0];\n}\n" :: "r"(bar) : "memory");
        }
        __device__ __forceinline__ void xt_bar_expect(unsigned bar, unsigned bytes) {
            asm volatile("{\n.reg .b64 state;\nmbarrier.arrive.expect_tx.shared::cta.b64 state, [%0], %1;\n}\n" :: "r"(bar), "r"(bytes) : "memory");
        }
        __device__ __forceinline__ void xt_tma(unsigned dst, const XGTensorMap* map, int c0, int c1, unsigned bar) {
            asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n"
                         :: "r"(dst), "l"(map), "r"(c0), "r"(c1), "r"(bar) : "memory");
        }
        __device__ __forceinline__ void xt_tma3(unsigned dst, const XGTensorMap* map, int c0, int c1, int c2, unsigned bar) {
            asm volatile("cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4}], [%5];\n"
                         :: "r"(dst), "l"(map), "r"(c0), "r"(c1), "r"(c2), "r"(bar) : "memory");
        }
        __device__ __forceinline__ bf16_t xt_bf16(float x) {
            unsigned b = __float_as_uint(x);
            return (b & 0x7fffffffu) > 0x7f800000u ? (bf16_t)((b >> 16) | 0x40u) : (bf16_t)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
        }

        """#

    private static let body = #"""
        template <int BN, int TA, int TB> __device__ __forceinline__ void xt_mma(float* d, u64 da, u64 db) {
            if (BN == 128) xg_wgmma_n128<TA, TB>(d, da, db);
            else if (BN == 176) xg_wgmma_n176<TA, TB>(d, da, db);
            else xg_wgmma_n256<TA, TB>(d, da, db);
        }

        // Tile t → expert g (tile_start has E+1 entries), m0, n0.
        __device__ __forceinline__ void xt_tile(const int* tile_start, int E, int n_tiles, int BN, int t, int& g, int& m0, int& n0) {
            g = 0;
            while (g + 1 < E && tile_start[g + 1] <= t) g++;
            int local = t - tile_start[g];
            m0 = (local / n_tiles) * XT_BM;
            n0 = (local % n_tiles) * BN;
        }

        // Zeroes rows [valid, 64) of a 64-row MN-major box: whole 128-byte lines, so the swizzle
        // (which permutes 16-byte chunks within a line) does not matter.
        __device__ __forceinline__ void xt_zero_tail(unsigned char* box, int valid, int t128) {
            const uint4 z = make_uint4(0u, 0u, 0u, 0u);
            for (int i = valid * 8 + t128; i < 64 * 8; i += 128) *(uint4*)(box + 16 * i) = z;
        }

        // KM: K (MODE 0, 1), or M, the rows of each C_g (MODE 2).
        template <int BN, int MODE> __device__ __forceinline__ void xt_kernel(
            const XGTensorMap* mapA, const XGTensorMap* mapB, void* C,
            const int* __restrict__ row_start, const int* __restrict__ row_count, const int* __restrict__ tile_start,
            int E, int N, int KM, float beta, int out_f32, const float* __restrict__ bias)
        {
            constexpr int A_BYTES = XT_BM * XT_BK * 2, B_BYTES = BN * XT_BK * 2, STAGE = A_BYTES + B_BYTES;
            constexpr int TA = MODE == 2 ? 1 : 0, TB = MODE >= 1 ? 1 : 0;
            extern __shared__ __align__(1024) unsigned char xt_raw[];
            unsigned char* smem = (unsigned char*)(((unsigned long long)xt_raw + 1023) & ~1023ull);
            const unsigned s_base = xt_smem(smem);
            const unsigned bars = s_base + XT_STAGES * STAGE;  // full[s] at bars + 8s, empty[s] at bars + 8(STAGES + s)
            const int tid = threadIdx.x, wg = tid >> 7;
            const int n_tiles = (N + BN - 1) / BN, total = tile_start[E];
            if (tid == 0) {
                for (int s = 0; s < XT_STAGES; s++) { xt_bar_init(bars + 8 * s, 1); xt_bar_init(bars + 8 * (XT_STAGES + s), 2); }
                asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
            }
            __syncthreads();
            if (wg == 0) {
                asm volatile("setmaxnreg.dec.sync.aligned.u32 40;\n");
                if (tid == 0) {
                    int it = 0;
                    for (int t = blockIdx.x; t < total; t += gridDim.x) {
                        int g, m0, n0;
                        xt_tile(tile_start, E, n_tiles, BN, t, g, m0, n0);
                        const int KT = ((MODE == 2 ? row_count[g] : KM) + XT_BK - 1) / XT_BK;
                        for (int kt = 0; kt < KT; kt++, it++) {
                            const int s = it % XT_STAGES, phase = (it / XT_STAGES) & 1;
                            const unsigned sa = s_base + s * STAGE, sb = sa + A_BYTES, full = bars + 8 * s;
                            xt_bar_wait(bars + 8 * (XT_STAGES + s), phase ^ 1);
                            xt_bar_expect(full, STAGE);
                            if (MODE == 0) {
                                xt_tma(sa, mapA, kt * XT_BK, row_start[g] + m0, full);
                                xt_tma(sb, mapB, kt * XT_BK, g * N + n0, full);
                            } else if (MODE == 1) {
                                xt_tma(sa, mapA, kt * XT_BK, row_start[g] + m0, full);
                                for (int j = 0; j < BN / 64; j++) xt_tma3(sb + j * XT_BOX, mapB, n0 + 64 * j, kt * XT_BK, g, full);
                            } else {
                                const int r0 = row_start[g] + kt * XT_BK;
                                xt_tma(sa, mapA, m0, r0, full);
                                xt_tma(sa + XT_BOX, mapA, m0 + 64, r0, full);
                                for (int j = 0; j < BN / 64; j++) xt_tma(sb + j * XT_BOX, mapB, n0 + 64 * j, r0, full);
                            }
                        }
                    }
                }
            } else {
                asm volatile("setmaxnreg.inc.sync.aligned.u32 232;\n");
                const int c = wg - 1, t128 = tid & 127, warp = t128 >> 5, lane = tid & 31;
                int it = 0;
                for (int t = blockIdx.x; t < total; t += gridDim.x) {
                    int g, m0, n0;
                    xt_tile(tile_start, E, n_tiles, BN, t, g, m0, n0);
                    const int depth = MODE == 2 ? row_count[g] : KM, KT = (depth + XT_BK - 1) / XT_BK;
                    float d[BN / 2];
                    #pragma unroll
                    for (int i = 0; i < BN / 2; i++) d[i] = 0.f;
                    for (int kt = 0; kt < KT; kt++, it++) {
                        const int s = it % XT_STAGES, phase = (it / XT_STAGES) & 1;
                        xt_bar_wait(bars + 8 * s, phase);
                        const unsigned sa = s_base + s * STAGE + c * (64 * 128), sb = s_base + s * STAGE + A_BYTES;
                        if (MODE == 2 && depth - kt * XT_BK < XT_BK) {
                            // The segment ends inside this k-step: the rows loaded past it belong to the next
                            // expert (or are stale), so both operands' rows past it become zeros. Each consumer
                            // clears its own A box and every other B box, then both meet before any wgmma.
                            const int valid = depth - kt * XT_BK;
                            unsigned char* stage = smem + s * STAGE;
                            xt_zero_tail(stage + c * XT_BOX, valid, t128);
                            for (int j = c; j < BN / 64; j += 2) xt_zero_tail(stage + A_BYTES + j * XT_BOX, valid, t128);
                            asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
                            asm volatile("bar.sync 1, 256;\n" ::: "memory");
                        }
                        asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
                        #pragma unroll
                        for (int j = 0; j < XT_BK / 16; j++) {
                            // A k16 step: 32 bytes along a K-major row, 16 rows (2048 bytes) down an MN-major box.
                            const u64 da = TA ? xt_desc_mn(sa + 2048 * j) : xt_desc(sa + 32 * j);
                            const u64 db = TB ? xt_desc_mn(sb + 2048 * j) : xt_desc(sb + 32 * j);
                            xt_mma<BN, TA, TB>(d, da, db);
                        }
                        asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
        #ifdef XT_DEFER
                        // Keep this k-step's wgmma in flight; the previous one is done, so its stage is free.
                        asm volatile("wgmma.wait_group.sync.aligned 1;\n" ::: "memory");
                        if (t128 == 0 && kt > 0) xt_bar_arrive(bars + 8 * (XT_STAGES + (it - 1) % XT_STAGES));
        #else
                        asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
                        if (t128 == 0) xt_bar_arrive(bars + 8 * (XT_STAGES + s));
        #endif
                    }
        #ifdef XT_DEFER
                    asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
                    if (t128 == 0) xt_bar_arrive(bars + 8 * (XT_STAGES + (it - 1) % XT_STAGES));
        #endif
                    // C rows: the expert's segment (MODE 0, 1) or its M rows of C_g (MODE 2).
                    const long long c_row0 = MODE == 2 ? (long long)g * KM + m0 : (long long)row_start[g] + m0;
                    const int rows = (MODE == 2 ? KM : row_count[g]) - m0, cols = N - n0;
                    const int r_lo = c * 64 + warp * 16 + (lane >> 2);
                    if (beta != 0.f) {
                        // beta · C into the accumulators first, every load before any store: the loads are
                        // independent and all in flight at once (a load, add and store at a time ran the
                        // weight gradient's fp32 read-modify-write at a third of HBM bandwidth).
                        #pragma unroll
                        for (int i = 0; i < BN / 8; i++) {
                            const int col = i * 8 + (lane & 3) * 2;
                            #pragma unroll
                            for (int h = 0; h < 2; h++) {
                                const int r = r_lo + h * 8;
                                if (r >= rows) continue;
                                const long long at = (c_row0 + r) * N + n0 + col;
                                float old0 = 0.f, old1 = 0.f;
                                if (out_f32) {
                                    const float* in = (const float*)C + at;
                                    if (col + 1 < cols && (N & 1) == 0) { const float2 o = *(const float2*)in; old0 = o.x; old1 = o.y; }
                                    else { if (col < cols) old0 = in[0]; if (col + 1 < cols) old1 = in[1]; }
                                } else {
                                    const bf16_t* in = (const bf16_t*)C + at;
                                    if (col < cols) old0 = __uint_as_float((unsigned)in[0] << 16);
                                    if (col + 1 < cols) old1 = __uint_as_float((unsigned)in[1] << 16);
                                }
                                d[4 * i + 2 * h] += beta * old0;
                                d[4 * i + 2 * h + 1] += beta * old1;
                            }
                        }
                    }
                    if (MODE != 2 && bias != 0) {
                        // The expert's bias row, added after beta · C: the same fp32 sums as a separate
                        // bias pass over C (C = product, then C += bias), without reading C back.
                        const float* bg = bias + (long long)g * N + n0;
                        #pragma unroll
                        for (int i = 0; i < BN / 8; i++) {
                            const int col = i * 8 + (lane & 3) * 2;
                            const float b0 = col < cols ? bg[col] : 0.f, b1 = col + 1 < cols ? bg[col + 1] : 0.f;
                            d[4 * i] += b0; d[4 * i + 1] += b1; d[4 * i + 2] += b0; d[4 * i + 3] += b1;
                        }
                    }
                    #pragma unroll
                    for (int i = 0; i < BN / 8; i++) {
                        const int col = i * 8 + (lane & 3) * 2;
                        #pragma unroll
                        for (int h = 0; h < 2; h++) {
                            const int r = r_lo + h * 8;
                            if (r >= rows) continue;
                            const long long at = (c_row0 + r) * N + n0 + col;
                            const float v0 = d[4 * i + 2 * h], v1 = d[4 * i + 2 * h + 1];
                            if (out_f32) {
                                float* out = (float*)C + at;
                                // Both columns in one 8-byte store where N is even (aligned).
                                if (col + 1 < cols && (N & 1) == 0) *(float2*)out = make_float2(v0, v1);
                                else { if (col < cols) out[0] = v0; if (col + 1 < cols) out[1] = v1; }
                            } else {
                                bf16_t* out = (bf16_t*)C + at;
                                if (col + 1 < cols && (N & 1) == 0) *(unsigned*)out = (unsigned)xt_bf16(v0) | ((unsigned)xt_bf16(v1) << 16);
                                else { if (col < cols) out[0] = xt_bf16(v0); if (col + 1 < cols) out[1] = xt_bf16(v1); }
                            }
                        }
                    }
                }
            }
        }

        #define XT_ENTRY(BN, MODE, NAME) \
        extern "C" __global__ void __launch_bounds__(XT_THREADS, 1) NAME( \
            const __grid_constant__ XGTensorMap mapA, const __grid_constant__ XGTensorMap mapB, void* C, \
            const int* __restrict__ row_start, const int* __restrict__ row_count, const int* __restrict__ tile_start, \
            int E, int N, int KM, float beta, int out_f32, const float* __restrict__ bias) { \
            xt_kernel<BN, MODE>(&mapA, &mapB, C, row_start, row_count, tile_start, E, N, KM, beta, out_f32, bias); }

        """#
}
