/// FlashAttention-2 on tensor cores (`mma.sync.m16n8k16` bf16 × bf16 → fp32, inline PTX), as an NVRTC
/// module of its own. Causal, scale 1/√D, qkv_T3H layout, head widths `headWidths` (64, 128): the
/// same op as `FlashAttentionKernels`, with Q, K, V and dO rounded to bf16 (once per call, by
/// `xmoe_fatc_pack`, into a head-major [part][b·N][s][D] copy) and P and dS rounded to bf16 for their
/// products; the online softmax, the log-sum-exp, D_i and every accumulator stay fp32, and the
/// outputs are fp32 (dQkv accumulates).
///
/// - `xmoe_fatc_fwd_d*`: a block of `forwardThreads` per `forwardRows` query rows (16 a warp, the mma's M);
///   Q lives in registers as mma A fragments; K and V tiles of `keyTile` rows stream into (dynamic)
///   shared memory by `cp.async`, double-buffered (rows padded by 8 elements so ldmatrix phases hit
///   32 different banks); K enters q·kᵀ through `ldmatrix`, V the P·V product through
///   `ldmatrix.trans`. Only tiles that cross the diagonal are masked.
/// - `xmoe_fatc_dq_d*`: the same walk over key tiles of `dqKeyTile`; dS = P ⊙ (dP − D_i)·scale,
///   dQ += dS·K.
/// - `xmoe_fatc_dkdv_d*`: a block of `dkdvThreads` per `dkdvKeys` keys (16 a warp), its K
///   and V rows held in shared memory for the whole walk (dynamic shared memory over 48 KiB, opted in
///   at load: `dynamicSharedBytes`), walking double-buffered query tiles of `dkdvQueries` from the
///   diagonal: dV += Pᵀ·dO, dK += dSᵀ·Q. Every fragment comes from shared memory by `ldmatrix`.
/// D_i = rowsum(dO ⊙ O) comes from the fp32 module's `xmoe_flash_delta`.
///
/// No atomics: every sum runs in an order fixed by the shape (mma k-steps in order, quad shuffles
/// in a fixed butterfly), so runs are bit-identical. dQ and dK/dV write disjoint columns of dQkv.
public enum FlashAttentionTensorCoreKernels {
    /// Head widths with tensor-core kernels (each a template instance).
    public static let headWidths = [64, 128]
    /// Threads per block of each kernel; a warp owns 16 query rows (forward, dq) or keys (dk/dv),
    /// the mma's M. 4 warps each: two blocks fit an SM (registers; three in the forward), and at
    /// B4 S2048 N16 D128 8 warps a block were slower in the forward and dk/dv and no faster in dq
    /// (NOTES.md, fa: forward 0.378 against 0.303 ms, dk/dv 1.06 against 0.96).
    public static let forwardThreads = 128
    public static let dqThreads = 128
    public static let dkdvThreads = 128
    /// Keys a forward or dq block streams through shared memory at a time; queries a dk/dv block
    /// does. 64 rather than 32: half the barriers and cp.async waits per mma (fa's sweep: forward
    /// 0.385 → 0.354 ms, dq 0.529 → 0.490, dk/dv 1.046 → 0.957).
    public static let keyTile = 64
    public static let dqKeyTile = 64
    public static let dkdvQueries = 64
    public static var forwardRows: Int { forwardThreads / 2 }
    public static var dqRows: Int { dqThreads / 2 }
    public static var dkdvKeys: Int { dkdvThreads / 2 }

    public static func kernelName(_ pass: String, headDim: Int) -> String { "xmoe_fatc_\(pass)_d\(headDim)" }

    /// The fp32 → bf16 repacking kernel (qkv or dO into [part][b·N][s][D]).
    public static let packKernel = "xmoe_fatc_pack"
    /// The same for qkv with q and k rotated by RoPE on the way (the fused RoPE of `flashAttentionRoPE…`).
    public static let packRoPEKernel = "xmoe_fatc_pack_rope"

    public static var kernelNames: [String] {
        [packKernel, packRoPEKernel] + headWidths.flatMap { d in ["fwd", "dq", "dkdv"].map { kernelName($0, headDim: d) } }
    }

    /// Threads per block of a pass ("fwd", "dq", "dkdv").
    public static func threads(_ pass: String) -> Int {
        switch pass {
        case "fwd": return forwardThreads
        case "dq": return dqThreads
        default: return dkdvThreads
        }
    }

    /// Bytes of dynamic shared memory a block of each kernel uses at head width `d` (rows padded by
    /// 8 elements): double-buffered K and V tiles (forward, dq); K and V of the block's keys plus
    /// double-buffered Q and dO tiles and their lse and D_i (dk/dv).
    public static func sharedBytes(_ pass: String, headDim d: Int) -> Int {
        let stride = (d + 8) * 2
        switch pass {
        case "fwd": return 2 * 2 * keyTile * stride
        case "dq": return 2 * 2 * dqKeyTile * stride
        default: return 2 * dkdvKeys * stride + 2 * 2 * dkdvQueries * stride + 2 * 2 * dkdvQueries * 4
        }
    }

    /// The kernels' opt-in to their dynamic shared bytes, set at load (cuFuncSetAttribute; needed
    /// over 48 KiB).
    public static var dynamicSharedBytes: [String: Int] {
        Dictionary(uniqueKeysWithValues: headWidths.flatMap { d in
            ["fwd", "dq", "dkdv"].map { (kernelName($0, headDim: d), sharedBytes($0, headDim: d)) }
        })
    }

    public static func source() -> String {
        precondition([forwardThreads, dqThreads, dkdvThreads].allSatisfy { $0 % 32 == 0 && $0 <= 512 }, "whole warps")
        precondition(keyTile % 16 == 0 && dqKeyTile % 16 == 0 && dkdvQueries % 16 == 0, "tiles are whole mma k-steps")
        precondition(dkdvKeys % dkdvQueries == 0, "query tiles start on the key tile's diagonal")
        for d in headWidths {
            for pass in ["fwd", "dq", "dkdv"] { precondition(sharedBytes(pass, headDim: d) <= 227 * 1024, "over an H100/H200 block's shared memory") }
        }
        let instances = headWidths.map { d in
            """
            extern "C" __global__ void __launch_bounds__(TC_FWD_THREADS)
            \(kernelName("fwd", headDim: d))(const u16* qkvb, float* out, float* lse, i64 s, int heads, float scale) {
                tc_fwd<\(d)>(qkvb, out, lse, s, heads, scale);
            }
            extern "C" __global__ void __launch_bounds__(TC_DQ_THREADS)
            \(kernelName("dq", headDim: d))(const u16* qkvb, const u16* doutb, const float* lse, const float* delta, float* dqkv,
                                 i64 s, int heads, float scale, int overwrite, const float* cs, int bf16out) {
                tc_dq<\(d)>(qkvb, doutb, lse, delta, dqkv, s, heads, scale, overwrite, cs, bf16out);
            }
            extern "C" __global__ void __launch_bounds__(TC_KV_THREADS, 1)
            \(kernelName("dkdv", headDim: d))(const u16* qkvb, const u16* doutb, const float* lse, const float* delta, float* dqkv,
                                   i64 s, int heads, float scale, int overwrite, const float* cs, int bf16out) {
                tc_dkdv<\(d)>(qkvb, doutb, lse, delta, dqkv, s, heads, scale, overwrite, cs, bf16out);
            }
            """
        }.joined(separator: "\n")
        return """
        // xmoe flash attention on tensor cores (bf16 mma, fp32 accumulation).
        // Generated by XMoEComputeCUDA.FlashAttentionTensorCoreKernels.
        typedef long long i64;
        typedef unsigned int u32;
        typedef unsigned short u16;
        #define TC_FWD_THREADS \(forwardThreads)
        #define TC_FWD_ROWS \(forwardRows)
        #define TC_FWD_KEYS \(keyTile)
        #define TC_DQ_THREADS \(dqThreads)
        #define TC_DQ_ROWS \(dqRows)
        #define TC_DQ_KEYS \(dqKeyTile)
        #define TC_KV_THREADS \(dkdvThreads)
        #define TC_KV_KEYS \(dkdvKeys)
        #define TC_KV_QUERIES \(dkdvQueries)
        #define TC_NEG_INF __int_as_float(0xff800000)
        #define TC_LOG2E 1.4426950408889634f
        #define TC_LN2 0.6931471805599453f
        #define FULL 0xffffffffu

        // Two floats rounded to bf16 (nearest even) in one register, `lo` in the low half (the
        // element with the lower index, as mma fragments and memory order want).
        __device__ __forceinline__ u32 tc_pack(float lo, float hi) {
            u32 r;
            asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
            return r;
        }

        // c += a · b for one 16×8 tile: a the 16×16 A fragment (row-major), b the 16×8 B fragment.
        __device__ __forceinline__ void tc_mma(float* c, const u32* a, u32 b0, u32 b1) {
            asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                         "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                         : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                         : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
        }

        // B fragments of two adjacent 8-column tiles (columns n0…n0+15) over k rows k0…k0+15 of a
        // row-major [k][n] bf16 array: ldmatrix with transpose (thread t names row k0 + t%16 of the
        // left or right 8 columns). r[0], r[1]: columns n0…n0+7; r[2], r[3]: n0+8…n0+15.
        __device__ __forceinline__ void tc_ldsm_t(u32* r, const u16* base, int stride, int k0, int n0) {
            const int t = threadIdx.x & 31;
            const u32 addr = (u32)__cvta_generic_to_shared(base + (k0 + (t & 15)) * stride + n0 + ((t >> 4) << 3));
            asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
                         : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(addr));
        }

        // The A fragment (16 rows from r0, columns c0…c0+15) of a row-major bf16 array in shared
        // memory: ldmatrix without transpose (thread t names row r0 + t%16, left or right 8 columns).
        __device__ __forceinline__ void tc_ldsm_a(u32* r, const u16* base, int stride, int r0, int c0) {
            const int t = threadIdx.x & 31;
            const u32 addr = (u32)__cvta_generic_to_shared(base + (r0 + (t & 15)) * stride + c0 + ((t >> 4) << 3));
            asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                         : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(addr));
        }

        // B fragments of two adjacent 8-column tiles (n0…n0+7: r[0], r[1]; n0+8…n0+15: r[2], r[3])
        // over k = k0…k0+15 of Bᵀ stored row-major [n][k] in shared memory (K rows for q·kᵀ): one
        // ldmatrix instead of four 32-bit loads.
        __device__ __forceinline__ void tc_ldsm_b(u32* r, const u16* base, int stride, int n0, int k0) {
            const int t = threadIdx.x & 31;
            const u32 addr = (u32)__cvta_generic_to_shared(base + (n0 + (t & 7) + ((t >> 4) << 3)) * stride + k0 + (((t >> 3) & 1) << 3));
            asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                         : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(addr));
        }

        __device__ __forceinline__ u32 tc_ld32(const u16* p) { return *(const u32*)p; }

        // 16 bytes global → shared without registers; src-size 0 writes zeros (rows past the end).
        __device__ __forceinline__ void tc_cp16(u16* dst, const u16* src, bool valid) {
            const u32 addr = (u32)__cvta_generic_to_shared(dst);
            asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" :: "r"(addr), "l"(src), "r"(valid ? 16 : 0));
        }
        __device__ __forceinline__ void tc_commit() { asm volatile("cp.async.commit_group;"); }
        __device__ __forceinline__ void tc_wait_one() { asm volatile("cp.async.wait_group 1;" ::: "memory"); }

        // Rows [r0, r0 + ROWS) of one head's bf16 part (row-major, stride D, `s` rows) into shared
        // rows of stride D + 8, asynchronously; rows past the sequence read as zeros.
        template <int D, int ROWS, int NT>
        __device__ __forceinline__ void tc_load_async(u16* dst, const u16* src, i64 r0, i64 s) {
            const int q = D / 8;
            for (int e = threadIdx.x; e < ROWS * q; e += NT) {
                const int i = e / q, c = (e - i * q) * 8;
                const i64 r = r0 + i;
                tc_cp16(dst + i * (D + 8) + c, src + (r < s ? r : 0) * D + c, r < s);
            }
        }

        // A fragments (16 rows × D, k-step by k-step) of rows r0…r0+15 of one head's bf16 part
        // (row-major, stride D), straight from global memory; rows past the sequence are zeros.
        template <int D>
        __device__ __forceinline__ void tc_frag_global(u32 (*a)[4], const u16* src, i64 r0, i64 s) {
            const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
            const i64 ra = r0 + g, rb = r0 + g + 8;
            const u16* pa = src + (ra < s ? ra : 0) * D + 2 * t;
            const u16* pb = src + (rb < s ? rb : 0) * D + 2 * t;
            #pragma unroll
            for (int ks = 0; ks < D / 16; ++ks) {
                a[ks][0] = ra < s ? tc_ld32(pa + ks * 16) : 0u;
                a[ks][1] = rb < s ? tc_ld32(pb + ks * 16) : 0u;
                a[ks][2] = ra < s ? tc_ld32(pa + ks * 16 + 8) : 0u;
                a[ks][3] = rb < s ? tc_ld32(pb + ks * 16 + 8) : 0u;
            }
        }

        // fp32 → bf16 into the kernels' layout [part][b·N][s][D] (each head's rows contiguous):
        // parts 0…parts−1 are the column blocks of width N·D of a [T, parts·N·D] source (row stride
        // ld). Eight elements a thread a step, grid-stride; the index splits in 32-bit arithmetic
        // when the counts fit (64-bit division is many instructions and the pass is memory-bound).
        template <typename I>
        __device__ __forceinline__ void tc_pack_range(const float* src, u16* dst, I groups, I s, I heads, I d8, I bnCount, i64 ld) {
            for (I e = (I)blockIdx.x * blockDim.x + threadIdx.x; e < groups; e += (I)gridDim.x * blockDim.x) {
                const I c = (e % d8) * 8, rest = e / d8;
                const I i = rest % s, pbn = rest / s, bn = pbn % bnCount, part = pbn / bnCount;
                const I b = bn / heads, n = bn % heads;
                const float* p = src + ((i64)b * s + i) * ld + ((i64)part * heads + n) * (d8 * 8) + c;
                const float4 x = *(const float4*)p, y = *(const float4*)(p + 4);
                *(uint4*)(dst + (i64)e * 8) = make_uint4(tc_pack(x.x, x.y), tc_pack(x.z, x.w), tc_pack(y.x, y.y), tc_pack(y.z, y.w));
            }
        }
        // tc_pack_range with q and k (parts 0 and 1) rotated by RoPE on the way (cs as xmoe_rope_table
        // writes it): the same products as xmoe_rope's forward, so the bf16 copy is that of the rotated qkv.
        template <typename I>
        __device__ __forceinline__ void tc_pack_rope_range(const float* src, u16* dst, I groups, I s, I heads, I d8, I bnCount, i64 ld,
                                                           const float* cs) {
            const I half = d8 * 4;
            for (I e = (I)blockIdx.x * blockDim.x + threadIdx.x; e < groups; e += (I)gridDim.x * blockDim.x) {
                const I c = (e % d8) * 8, rest = e / d8;
                const I i = rest % s, pbn = rest / s, bn = pbn % bnCount, part = pbn / bnCount;
                const I b = bn / heads, n = bn % heads;
                const float* p = src + ((i64)b * s + i) * ld + ((i64)part * heads + n) * (d8 * 8) + c;
                float v[8];
                *(float4*)v = *(const float4*)p; *(float4*)(v + 4) = *(const float4*)(p + 4);
                if (part < 2) {
                    const bool low = c < half;
                    const float* q = low ? p + half : p - half;
                    float w[8];
                    *(float4*)w = *(const float4*)q; *(float4*)(w + 4) = *(const float4*)(q + 4);
                    const float* table = cs + 2 * ((i64)i * half + (low ? c : c - half));
                    #pragma unroll
                    for (int j = 0; j < 8; ++j) {
                        const float2 csv = *(const float2*)(table + 2 * j);
                        // low: a = v, b = w → a·cos − b·sin; high: a = w, b = v → a·sin + b·cos.
                        v[j] = low ? v[j] * csv.x - w[j] * csv.y : w[j] * csv.y + v[j] * csv.x;
                    }
                }
                *(uint4*)(dst + (i64)e * 8) = make_uint4(tc_pack(v[0], v[1]), tc_pack(v[2], v[3]), tc_pack(v[4], v[5]), tc_pack(v[6], v[7]));
            }
        }
        extern "C" __global__ void xmoe_fatc_pack_rope(const float* src, u16* dst, i64 tokens, i64 s, int heads, int d, i64 ld,
                                                       const float* cs) {
            const i64 groups = tokens * 3 * heads * (d / 8);
            const i64 bnCount = tokens / s * heads;
            if (groups + (i64)gridDim.x * blockDim.x < 0xffffffffLL)
                tc_pack_rope_range<unsigned>(src, dst, (unsigned)groups, (unsigned)s, (unsigned)heads, (unsigned)(d / 8), (unsigned)bnCount, ld, cs);
            else
                tc_pack_rope_range<i64>(src, dst, groups, s, (i64)heads, (i64)(d / 8), bnCount, ld, cs);
        }
        extern "C" __global__ void xmoe_fatc_pack(const float* src, u16* dst, i64 tokens, i64 s, int heads, int d, int parts,
                                                  i64 ld) {
            const i64 groups = tokens * parts * heads * (d / 8);
            const i64 bnCount = tokens / s * heads;
            if (groups + (i64)gridDim.x * blockDim.x < 0xffffffffLL)
                tc_pack_range<unsigned>(src, dst, (unsigned)groups, (unsigned)s, (unsigned)heads, (unsigned)(d / 8), (unsigned)bnCount, ld);
            else
                tc_pack_range<i64>(src, dst, groups, s, (i64)heads, (i64)(d / 8), bnCount, ld);
        }

        // acc[16 × N] += A(16 × D, fragments a) · Bᵀ where B is N rows × D of a shared bf16 array
        // (row-major, stride D + 8): scores q·kᵀ, dO·vᵀ, k·qᵀ.
        template <int D, int N>
        __device__ __forceinline__ void tc_abt(float (*acc)[4], const u32 (*a)[4], const u16* b) {
            #pragma unroll
            for (int ks = 0; ks < D / 16; ++ks) {
                #pragma unroll
                for (int np = 0; np < N / 16; ++np) {
                    u32 r[4];
                    tc_ldsm_b(r, b, D + 8, np * 16, ks * 16);
                    tc_mma(acc[2 * np], a[ks], r[0], r[1]);
                    tc_mma(acc[2 * np + 1], a[ks], r[2], r[3]);
                }
            }
        }

        // acc[16 × D] += P(16 × K, fp32 C fragments, rounded to bf16 here) · B where B is K rows × D
        // of a shared bf16 array (row-major, stride D + 8): P·V, dS·K, Pᵀ·dO, dSᵀ·Q.
        template <int D, int K>
        __device__ __forceinline__ void tc_pb(float (*acc)[4], const float (*p)[4], const u16* b) {
            #pragma unroll
            for (int kk = 0; kk < K / 16; ++kk) {
                u32 a[4];
                a[0] = tc_pack(p[2 * kk][0], p[2 * kk][1]);
                a[1] = tc_pack(p[2 * kk][2], p[2 * kk][3]);
                a[2] = tc_pack(p[2 * kk + 1][0], p[2 * kk + 1][1]);
                a[3] = tc_pack(p[2 * kk + 1][2], p[2 * kk + 1][3]);
                #pragma unroll
                for (int np = 0; np < D / 16; ++np) {
                    u32 r[4];
                    tc_ldsm_t(r, b, D + 8, kk * 16, np * 16);
                    tc_mma(acc[2 * np], a, r[0], r[1]);
                    tc_mma(acc[2 * np + 1], a, r[2], r[3]);
                }
            }
        }

        // Grids are (b·N, tiles): blocks start in x-major order, so every head's tile y starts before
        // any head's tile y + 1, and query tiles run last-first along y: the longest walks (near the
        // end of the sequence) start first over the whole grid, the short ones fill the tail. K and V tiles are double-buffered: tile j+1 streams in (cp.async) while the
        // warps work on tile j.
        template <int D>
        __device__ __forceinline__ void tc_fwd(const u16* qkvb, float* out, float* lse, i64 s, int heads, float scale) {
            extern __shared__ __align__(16) u16 tc_dyn[];
            constexpr int TS = TC_FWD_KEYS * (D + 8);
            u16* const ks = tc_dyn;           // [2][TC_FWD_KEYS][D + 8]
            u16* const vs = tc_dyn + 2 * TS;  // [2][TC_FWD_KEYS][D + 8]
            const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
            const i64 bn = blockIdx.x, bnCount = gridDim.x, b = bn / heads, n = bn % heads;
            const i64 h = (i64)heads * D;
            const u16* qh = qkvb + bn * s * D;
            const u16* kh = qkvb + (bnCount + bn) * s * D;
            const u16* vh = qkvb + (2 * bnCount + bn) * s * D;
            const i64 r0 = (i64)(gridDim.y - 1 - blockIdx.y) * TC_FWD_ROWS, w0 = r0 + warp * 16;
            const float sl2 = scale * TC_LOG2E;
            const int tiles = (int)((min(r0 + TC_FWD_ROWS, s) - 1) / TC_FWD_KEYS) + 1;
            tc_load_async<D, TC_FWD_KEYS, TC_FWD_THREADS>(ks, kh, 0, s);
            tc_load_async<D, TC_FWD_KEYS, TC_FWD_THREADS>(vs, vh, 0, s);
            tc_commit();
            u32 qf[D / 16][4];
            tc_frag_global<D>(qf, qh, w0, s);
            float o[D / 8][4];
            #pragma unroll
            for (int i = 0; i < D / 8; ++i) { o[i][0] = 0.0f; o[i][1] = 0.0f; o[i][2] = 0.0f; o[i][3] = 0.0f; }
            float m[2] = {TC_NEG_INF, TC_NEG_INF}, l[2] = {0.0f, 0.0f};
            for (int j = 0; j < tiles; ++j) {
                if (j + 1 < tiles) {
                    tc_load_async<D, TC_FWD_KEYS, TC_FWD_THREADS>(ks + ((j + 1) & 1) * TS, kh, (i64)(j + 1) * TC_FWD_KEYS, s);
                    tc_load_async<D, TC_FWD_KEYS, TC_FWD_THREADS>(vs + ((j + 1) & 1) * TS, vh, (i64)(j + 1) * TC_FWD_KEYS, s);
                }
                tc_commit();
                tc_wait_one();
                __syncthreads();
                const i64 k0 = (i64)j * TC_FWD_KEYS;
                // A warp whose rows all precede the tile skips it; otherwise key k0 ≤ every row of the
                // warp (tiles and warps start on multiples of 16), so each row's max stays finite.
                if (k0 <= w0 + 15) {
                    const u16* kt = ks + (j & 1) * TS;
                    const u16* vt = vs + (j & 1) * TS;
                    float sc[TC_FWD_KEYS / 8][4];
                    #pragma unroll
                    for (int i = 0; i < TC_FWD_KEYS / 8; ++i) { sc[i][0] = 0.0f; sc[i][1] = 0.0f; sc[i][2] = 0.0f; sc[i][3] = 0.0f; }
                    tc_abt<D, TC_FWD_KEYS>(sc, qf, kt);
                    // Row g (elements 0, 1) and row g + 8 (2, 3): scores in log2 units, masked where the
                    // tile reaches past the warp's first row (keys past the end lie past every row).
                    const bool diag = k0 + TC_FWD_KEYS - 1 > w0;
                    const int kr = (int)(k0 - w0);  // key − row offset of element (0, 0)
                    float mx[2] = {m[0], m[1]};
                    #pragma unroll
                    for (int nt = 0; nt < TC_FWD_KEYS / 8; ++nt) {
                        #pragma unroll
                        for (int e = 0; e < 4; ++e) {
                            const bool keep = !diag || kr + nt * 8 + 2 * t + (e & 1) <= g + (e >> 1) * 8;
                            const float x = keep ? sc[nt][e] * sl2 : TC_NEG_INF;
                            sc[nt][e] = x;
                            mx[e >> 1] = fmaxf(mx[e >> 1], x);
                        }
                    }
                    float alpha[2];
                    #pragma unroll
                    for (int hf = 0; hf < 2; ++hf) {
                        mx[hf] = fmaxf(mx[hf], __shfl_xor_sync(FULL, mx[hf], 1));
                        mx[hf] = fmaxf(mx[hf], __shfl_xor_sync(FULL, mx[hf], 2));
                        alpha[hf] = exp2f(m[hf] - mx[hf]);
                        m[hf] = mx[hf];
                    }
                    float rs[2] = {0.0f, 0.0f};
                    #pragma unroll
                    for (int nt = 0; nt < TC_FWD_KEYS / 8; ++nt) {
                        #pragma unroll
                        for (int e = 0; e < 4; ++e) {
                            const float p = exp2f(sc[nt][e] - m[e >> 1]);
                            sc[nt][e] = p;
                            rs[e >> 1] += p;
                        }
                    }
                    // l is per thread (its columns); the quad's partial sums meet once, at the end.
                    l[0] = l[0] * alpha[0] + rs[0];
                    l[1] = l[1] * alpha[1] + rs[1];
                    #pragma unroll
                    for (int i = 0; i < D / 8; ++i) { o[i][0] *= alpha[0]; o[i][1] *= alpha[0]; o[i][2] *= alpha[1]; o[i][3] *= alpha[1]; }
                    tc_pb<D, TC_FWD_KEYS>(o, sc, vt);
                }
                __syncthreads();  // the next iteration's loads overwrite this tile's buffer
            }
            #pragma unroll
            for (int hf = 0; hf < 2; ++hf) {
                l[hf] += __shfl_xor_sync(FULL, l[hf], 1);
                l[hf] += __shfl_xor_sync(FULL, l[hf], 2);
                const i64 row = w0 + g + hf * 8;
                if (row >= s) continue;
                const float inv = 1.0f / l[hf];
                float* orow = out + (b * s + row) * h + n * D;
                #pragma unroll
                for (int nt = 0; nt < D / 8; ++nt)
                    *(float2*)(orow + nt * 8 + 2 * t) = make_float2(o[nt][2 * hf] * inv, o[nt][2 * hf + 1] * inv);
                if (t == 0) lse[bn * s + row] = (m[hf] + log2f(l[hf])) * TC_LN2;
            }
        }

        // dq_i += Σ_j dS_ij k_j, P_ij = exp(scale q_i·k_j − lse_i), dS_ij = P_ij (dO_i·v_j − D_i) scale.
        // RoPE's backward on a warp's fragment of a gradient w.r.t. rotated q or k (rows r and r + 8 of
        // the sequence, columns nt·8 + 2t + {0, 1}): column i < D/2 pairs with i + D/2, which is the same
        // thread's fragment D/16 tiles on. The same products as xmoe_rope's backward (cs: (cos, sin) per
        // position and pair, xmoe_rope_table), so dqkv comes out w.r.t. the unrotated qkv.
        template <int D>
        __device__ __forceinline__ void tc_unrotate(float (*acc)[4], const float* cs, i64 r, i64 s, int t) {
            #pragma unroll
            for (int hf = 0; hf < 2; ++hf) {
                const i64 pos = r + hf * 8;
                if (pos >= s) continue;
                #pragma unroll
                for (int nt = 0; nt < D / 16; ++nt) {
                    #pragma unroll
                    for (int e = 0; e < 2; ++e) {
                        const int i = nt * 8 + 2 * t + e;
                        const float2 csv = *(const float2*)(cs + 2 * (pos * (D / 2) + i));
                        const float xa = acc[nt][2 * hf + e], xb = acc[nt + D / 16][2 * hf + e];
                        acc[nt][2 * hf + e] = xa * csv.x + xb * csv.y;
                        acc[nt + D / 16][2 * hf + e] = xb * csv.x - xa * csv.y;
                    }
                }
            }
        }

        // overwrite (here and in tc_dkdv): 0 + the sum instead of dqkv + it, dqkv unread (all of it written).
        template <int D>
        __device__ __forceinline__ void tc_dq(const u16* qkvb, const u16* doutb, const float* lse, const float* delta,
                                              float* dqkv, i64 s, int heads, float scale, int overwrite, const float* cs, int bf16out) {
            extern __shared__ __align__(16) u16 tc_dyn[];
            constexpr int TS = TC_DQ_KEYS * (D + 8);
            u16* const ks = tc_dyn;           // [2][TC_DQ_KEYS][D + 8]
            u16* const vs = tc_dyn + 2 * TS;  // [2][TC_DQ_KEYS][D + 8]
            const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
            const i64 bn = blockIdx.x, bnCount = gridDim.x, b = bn / heads, n = bn % heads;
            const i64 h = (i64)heads * D, ld = 3 * h;
            const u16* qh = qkvb + bn * s * D;
            const u16* kh = qkvb + (bnCount + bn) * s * D;
            const u16* vh = qkvb + (2 * bnCount + bn) * s * D;
            const i64 r0 = (i64)(gridDim.y - 1 - blockIdx.y) * TC_DQ_ROWS, w0 = r0 + warp * 16;
            const float sl2 = scale * TC_LOG2E;
            const int tiles = (int)((min(r0 + TC_DQ_ROWS, s) - 1) / TC_DQ_KEYS) + 1;
            tc_load_async<D, TC_DQ_KEYS, TC_DQ_THREADS>(ks, kh, 0, s);
            tc_load_async<D, TC_DQ_KEYS, TC_DQ_THREADS>(vs, vh, 0, s);
            tc_commit();
            u32 qf[D / 16][4], df[D / 16][4];
            tc_frag_global<D>(qf, qh, w0, s);
            tc_frag_global<D>(df, doutb + bn * s * D, w0, s);
            float rowLse[2], rowDelta[2];
            #pragma unroll
            for (int hf = 0; hf < 2; ++hf) {
                const i64 row = w0 + g + hf * 8;
                rowLse[hf] = row < s ? lse[bn * s + row] * TC_LOG2E : 0.0f;
                rowDelta[hf] = row < s ? delta[bn * s + row] : 0.0f;
            }
            float dq[D / 8][4];
            #pragma unroll
            for (int i = 0; i < D / 8; ++i) { dq[i][0] = 0.0f; dq[i][1] = 0.0f; dq[i][2] = 0.0f; dq[i][3] = 0.0f; }
            for (int j = 0; j < tiles; ++j) {
                if (j + 1 < tiles) {
                    tc_load_async<D, TC_DQ_KEYS, TC_DQ_THREADS>(ks + ((j + 1) & 1) * TS, kh, (i64)(j + 1) * TC_DQ_KEYS, s);
                    tc_load_async<D, TC_DQ_KEYS, TC_DQ_THREADS>(vs + ((j + 1) & 1) * TS, vh, (i64)(j + 1) * TC_DQ_KEYS, s);
                }
                tc_commit();
                tc_wait_one();
                __syncthreads();
                const i64 k0 = (i64)j * TC_DQ_KEYS;
                if (k0 <= w0 + 15) {
                    const u16* kt = ks + (j & 1) * TS;
                    const u16* vt = vs + (j & 1) * TS;
                    float sc[TC_DQ_KEYS / 8][4], dp[TC_DQ_KEYS / 8][4];
                    #pragma unroll
                    for (int i = 0; i < TC_DQ_KEYS / 8; ++i) {
                        #pragma unroll
                        for (int e = 0; e < 4; ++e) { sc[i][e] = 0.0f; dp[i][e] = 0.0f; }
                    }
                    tc_abt<D, TC_DQ_KEYS>(sc, qf, kt);
                    tc_abt<D, TC_DQ_KEYS>(dp, df, vt);
                    const bool diag = k0 + TC_DQ_KEYS - 1 > w0;  // as in the forward
                    const int kr = (int)(k0 - w0);
                    #pragma unroll
                    for (int nt = 0; nt < TC_DQ_KEYS / 8; ++nt) {
                        #pragma unroll
                        for (int e = 0; e < 4; ++e) {
                            const bool keep = !diag || kr + nt * 8 + 2 * t + (e & 1) <= g + (e >> 1) * 8;
                            const float p = keep ? exp2f(sc[nt][e] * sl2 - rowLse[e >> 1]) : 0.0f;
                            sc[nt][e] = p * (dp[nt][e] - rowDelta[e >> 1]) * scale;
                        }
                    }
                    tc_pb<D, TC_DQ_KEYS>(dq, sc, kt);
                }
                __syncthreads();
            }
            if (cs) tc_unrotate<D>(dq, cs, w0 + g, s, t);
            #pragma unroll
            for (int hf = 0; hf < 2; ++hf) {
                const i64 row = w0 + g + hf * 8;
                if (row >= s) continue;
                const i64 at = (b * s + row) * ld + n * D;
                float* dst = dqkv + at;
                #pragma unroll
                for (int nt = 0; nt < D / 8; ++nt) {
                    if (bf16out) {  // written (overwrite), rounded: the qkv projection's GEMMs read bf16
                        *(u32*)((u16*)dqkv + at + nt * 8 + 2 * t) = tc_pack(0.0f + dq[nt][2 * hf], 0.0f + dq[nt][2 * hf + 1]);
                        continue;
                    }
                    float2 v = overwrite ? make_float2(0.0f, 0.0f) : *(float2*)(dst + nt * 8 + 2 * t);
                    v.x += dq[nt][2 * hf]; v.y += dq[nt][2 * hf + 1];
                    *(float2*)(dst + nt * 8 + 2 * t) = v;
                }
            }
        }

        // dv_j += Σ_{i ≥ j} P_ij dO_i, dk_j += Σ_{i ≥ j} dS_ij q_i, over query tiles in order. The warp
        // computes the transposed tiles Sᵀ = K·Qᵀ and dPᵀ = V·dOᵀ (its 16 keys as the mma's rows). The
        // block's K and V rows enter shared memory once (dynamic shared memory: they and the
        // double-buffered Q and dO tiles exceed 48 KiB); every fragment is an ldmatrix.
        template <int D>
        __device__ __forceinline__ void tc_dkdv(const u16* qkvb, const u16* doutb, const float* lse, const float* delta,
                                                float* dqkv, i64 s, int heads, float scale, int overwrite, const float* cs, int bf16out) {
            extern __shared__ __align__(16) u16 tc_dyn[];
            constexpr int S = D + 8;
            u16* ks = tc_dyn;                              // [TC_KV_KEYS][S]
            u16* vs = ks + TC_KV_KEYS * S;                 // [TC_KV_KEYS][S]
            u16* qs = vs + TC_KV_KEYS * S;                 // [2][TC_KV_QUERIES][S]
            u16* dos = qs + 2 * TC_KV_QUERIES * S;         // [2][TC_KV_QUERIES][S]
            float* lses = (float*)(dos + 2 * TC_KV_QUERIES * S);  // [2][TC_KV_QUERIES]
            float* deltas = lses + 2 * TC_KV_QUERIES;            // [2][TC_KV_QUERIES]
            const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
            const i64 bn = blockIdx.x, bnCount = gridDim.x, b = bn / heads, n = bn % heads;
            const i64 h = (i64)heads * D, ld = 3 * h;
            const u16* qh = qkvb + bn * s * D;
            const u16* kh = qkvb + (bnCount + bn) * s * D;
            const u16* vh = qkvb + (2 * bnCount + bn) * s * D;
            const u16* dh = doutb + bn * s * D;
            const i64 k0 = (i64)blockIdx.y * TC_KV_KEYS, kw = k0 + warp * 16;
            const float sl2 = scale * TC_LOG2E;
            const int tiles = (int)((s - 1 - k0) / TC_KV_QUERIES) + 1;
            // Stage j of the walk: query tile q0 = k0 + j·TC_KV_QUERIES into buffer j & 1.
            #define TC_KV_STAGE(j) do { \
                const i64 q0s = k0 + (i64)(j) * TC_KV_QUERIES; \
                tc_load_async<D, TC_KV_QUERIES, TC_KV_THREADS>(qs + ((j) & 1) * TC_KV_QUERIES * S, qh, q0s, s); \
                tc_load_async<D, TC_KV_QUERIES, TC_KV_THREADS>(dos + ((j) & 1) * TC_KV_QUERIES * S, dh, q0s, s); \
                if (threadIdx.x < TC_KV_QUERIES) { \
                    const i64 r = q0s + threadIdx.x; \
                    lses[((j) & 1) * TC_KV_QUERIES + threadIdx.x] = r < s ? lse[bn * s + r] * TC_LOG2E : 0.0f; \
                    deltas[((j) & 1) * TC_KV_QUERIES + threadIdx.x] = r < s ? delta[bn * s + r] : 0.0f; \
                } } while (0)
            tc_load_async<D, TC_KV_KEYS, TC_KV_THREADS>(ks, kh, k0, s);  // keys past the end read as zeros
            tc_load_async<D, TC_KV_KEYS, TC_KV_THREADS>(vs, vh, k0, s);
            TC_KV_STAGE(0);
            tc_commit();
            float dk[D / 8][4], dv[D / 8][4];
            #pragma unroll
            for (int i = 0; i < D / 8; ++i) {
                #pragma unroll
                for (int e = 0; e < 4; ++e) { dk[i][e] = 0.0f; dv[i][e] = 0.0f; }
            }
            for (int j = 0; j < tiles; ++j) {
                if (j + 1 < tiles) TC_KV_STAGE(j + 1);
                tc_commit();
                tc_wait_one();
                __syncthreads();
                const i64 q0 = k0 + (i64)j * TC_KV_QUERIES;
                if (q0 + TC_KV_QUERIES - 1 >= kw) {  // else every query precedes the warp's keys
                    const u16* qt = qs + (j & 1) * TC_KV_QUERIES * S;
                    const u16* dt = dos + (j & 1) * TC_KV_QUERIES * S;
                    const float* tl = lses + (j & 1) * TC_KV_QUERIES;
                    const float* td = deltas + (j & 1) * TC_KV_QUERIES;
                    float st[TC_KV_QUERIES / 8][4], dpt[TC_KV_QUERIES / 8][4];
                    #pragma unroll
                    for (int i = 0; i < TC_KV_QUERIES / 8; ++i) {
                        #pragma unroll
                        for (int e = 0; e < 4; ++e) { st[i][e] = 0.0f; dpt[i][e] = 0.0f; }
                    }
                    #pragma unroll
                    for (int kc = 0; kc < D / 16; ++kc) {
                        u32 ka[4], va[4];
                        tc_ldsm_a(ka, ks, S, warp * 16, kc * 16);
                        tc_ldsm_a(va, vs, S, warp * 16, kc * 16);
                        #pragma unroll
                        for (int np = 0; np < TC_KV_QUERIES / 16; ++np) {
                            u32 bq[4], bd[4];
                            tc_ldsm_b(bq, qt, S, np * 16, kc * 16);
                            tc_ldsm_b(bd, dt, S, np * 16, kc * 16);
                            tc_mma(st[2 * np], ka, bq[0], bq[1]);
                            tc_mma(st[2 * np + 1], ka, bq[2], bq[3]);
                            tc_mma(dpt[2 * np], va, bd[0], bd[1]);
                            tc_mma(dpt[2 * np + 1], va, bd[2], bd[3]);
                        }
                    }
                    // Masks only where the tile meets the diagonal or the end of the sequence.
                    const bool edge = q0 < kw + 16 || q0 + TC_KV_QUERIES > s;
                    const int qk = (int)(q0 - kw);  // query − key offset of element (0, 0)
                    #pragma unroll
                    for (int nt = 0; nt < TC_KV_QUERIES / 8; ++nt) {
                        const float2 l2 = *(const float2*)(tl + nt * 8 + 2 * t), d2 = *(const float2*)(td + nt * 8 + 2 * t);
                        #pragma unroll
                        for (int e = 0; e < 4; ++e) {
                            const int qi = nt * 8 + 2 * t + (e & 1);
                            const bool keep = !edge || (qk + qi >= g + (e >> 1) * 8 && q0 + qi < s);
                            const float p = keep ? exp2f(st[nt][e] * sl2 - ((e & 1) ? l2.y : l2.x)) : 0.0f;
                            st[nt][e] = p;
                            dpt[nt][e] = p * (dpt[nt][e] - ((e & 1) ? d2.y : d2.x)) * scale;
                        }
                    }
                    tc_pb<D, TC_KV_QUERIES>(dv, st, dt);
                    tc_pb<D, TC_KV_QUERIES>(dk, dpt, qt);
                }
                __syncthreads();
            }
            #undef TC_KV_STAGE
            if (cs) tc_unrotate<D>(dk, cs, kw + g, s, t);
            #pragma unroll
            for (int hf = 0; hf < 2; ++hf) {
                const i64 key = kw + g + hf * 8;
                if (key >= s) continue;
                const i64 at = (b * s + key) * ld + n * D;
                float* row = dqkv + at;
                #pragma unroll
                for (int nt = 0; nt < D / 8; ++nt) {
                    if (bf16out) {
                        u16* row16 = (u16*)dqkv + at + nt * 8 + 2 * t;
                        *(u32*)(row16 + h) = tc_pack(0.0f + dk[nt][2 * hf], 0.0f + dk[nt][2 * hf + 1]);
                        *(u32*)(row16 + 2 * h) = tc_pack(0.0f + dv[nt][2 * hf], 0.0f + dv[nt][2 * hf + 1]);
                        continue;
                    }
                    float2 a = make_float2(0.0f, 0.0f), c = make_float2(0.0f, 0.0f);
                    if (!overwrite) { a = *(float2*)(row + h + nt * 8 + 2 * t); c = *(float2*)(row + 2 * h + nt * 8 + 2 * t); }
                    a.x += dk[nt][2 * hf]; a.y += dk[nt][2 * hf + 1];
                    c.x += dv[nt][2 * hf]; c.y += dv[nt][2 * hf + 1];
                    *(float2*)(row + h + nt * 8 + 2 * t) = a;
                    *(float2*)(row + 2 * h + nt * 8 + 2 * t) = c;
                }
            }
        }

        \(instances)
        """
    }
}
