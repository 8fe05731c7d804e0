// xmoe expert grouped GEMM for sm_90a, TMA + warp-specialised: C[seg_g] = A[seg_g] · Bt_gᵀ (+ beta·C).
// A [rows, K] and Bt [E·N, K] bf16 (K-contiguous, described by two TMA tensor maps with 128-byte
// swizzle), fp32 accumulation in wgmma, fp32 or bf16 C [rows, N]. Persistent CTAs take tiles
// (expert, m-tile, n-tile) round-robin from a static list (deterministic: every output element is
// one CTA's fixed-order sum). Warpgroup 0 issues TMA loads into a STAGES-deep ring guarded by
// full/empty mbarriers; warpgroups 1 and 2 each run wgmma on 64 of the tile's 128 rows.
typedef unsigned short bf16_t;
typedef unsigned long long u64;
struct __align__(64) XGTensorMap { u64 opaque[16]; };
#define XT_BM 128
#define XT_BK 64
#define XT_THREADS 384
#ifndef XT_STAGES
#define XT_STAGES 4
#endif

__device__ __forceinline__ unsigned xt_smem(const void* p) { return (unsigned)__cvta_generic_to_shared(p); }
__device__ __forceinline__ u64 xt_desc(unsigned addr) {
    return (u64)((addr & 0x3FFFF) >> 4) | ((u64)1 << 16) | ((u64)(1024 >> 4) << 32) | ((u64)1 << 62);
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
__device__ __forceinline__ bf16_t xt_bf16(float x) {
    unsigned b = __float_as_uint(x);
    return (b & 0x7fffffffu) > 0x7f800000u ? (bf16_t)((b >> 16) | 0x40u) : (bf16_t)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}
__device__ __forceinline__ void xg_wgmma_n128(float* d, u64 da, u64 db) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, p, 1, 1, 0, 0;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
        : "l"(da), "l"(db), "r"(1));
}
__device__ __forceinline__ void xg_wgmma_n176(float* d, u64 da, u64 db) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %90, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n176k16.f32.bf16.bf16 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87}, %88, %89, p, 1, 1, 0, 0;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87])
        : "l"(da), "l"(db), "r"(1));
}
__device__ __forceinline__ void xg_wgmma_n256(float* d, u64 da, u64 db) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, %112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}, %128, %129, p, 1, 1, 0, 0;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
        : "l"(da), "l"(db), "r"(1));
}

template <int BN> __device__ __forceinline__ void xt_mma(float* d, u64 da, u64 db) {
    if (BN == 128) xg_wgmma_n128(d, da, db);
    else if (BN == 176) xg_wgmma_n176(d, da, db);
    else xg_wgmma_n256(d, da, db);
}

// Tile t → expert g (tile_start has E+1 entries), m0, n0.
__device__ __forceinline__ void xt_tile(const int* tile_start, int E, int n_tiles, int BN, int t, int& g, int& m0, int& n0) {
    g = 0;
    while (g + 1 < E && tile_start[g + 1] <= t) g++;
    int local = t - tile_start[g];
    m0 = (local / n_tiles) * XT_BM;
    n0 = (local % n_tiles) * BN;
}

template <int BN> __device__ __forceinline__ void xt_kernel(
    const XGTensorMap* mapA, const XGTensorMap* mapB, void* C,
    const int* __restrict__ row_start, const int* __restrict__ row_count, const int* __restrict__ tile_start,
    int E, int N, int K, float beta, int out_f32)
{
    constexpr int A_BYTES = XT_BM * XT_BK * 2, B_BYTES = BN * XT_BK * 2, STAGE = A_BYTES + B_BYTES;
    extern __shared__ __align__(1024) unsigned char xt_raw[];
    unsigned char* smem = (unsigned char*)(((unsigned long long)xt_raw + 1023) & ~1023ull);
    const unsigned s_base = xt_smem(smem);
    const unsigned bars = s_base + XT_STAGES * STAGE;  // full[s] at bars + 8s, empty[s] at bars + 8(STAGES + s)
    const int tid = threadIdx.x, wg = tid >> 7;
    const int n_tiles = (N + BN - 1) / BN, KT = (K + XT_BK - 1) / XT_BK, total = tile_start[E];
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
                for (int kt = 0; kt < KT; kt++, it++) {
                    const int s = it % XT_STAGES, phase = (it / XT_STAGES) & 1;
                    xt_bar_wait(bars + 8 * (XT_STAGES + s), phase ^ 1);
                    xt_bar_expect(bars + 8 * s, STAGE);
                    xt_tma(s_base + s * STAGE, mapA, kt * XT_BK, row_start[g] + m0, bars + 8 * s);
                    xt_tma(s_base + s * STAGE + A_BYTES, mapB, kt * XT_BK, g * N + n0, bars + 8 * s);
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
            float d[BN / 2];
            #pragma unroll
            for (int i = 0; i < BN / 2; i++) d[i] = 0.f;
            for (int kt = 0; kt < KT; kt++, it++) {
                const int s = it % XT_STAGES, phase = (it / XT_STAGES) & 1;
                xt_bar_wait(bars + 8 * s, phase);
                const unsigned sa = s_base + s * STAGE + c * (64 * 128), sb = s_base + s * STAGE + A_BYTES;
                asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
                #pragma unroll
                for (int j = 0; j < XT_BK / 16; j++) xt_mma<BN>(d, xt_desc(sa + 32 * j), xt_desc(sb + 32 * j));
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
            const int rows = row_count[g] - m0, cols = N - n0;
            const int r_lo = c * 64 + warp * 16 + (lane >> 2);
            #pragma unroll
            for (int i = 0; i < BN / 8; i++) {
                const int col = i * 8 + (lane & 3) * 2;
                #pragma unroll
                for (int h = 0; h < 2; h++) {
                    const int r = r_lo + h * 8;
                    if (r >= rows) continue;
                    const long long row = (long long)row_start[g] + m0 + r;
                    const float v0 = d[4 * i + 2 * h], v1 = d[4 * i + 2 * h + 1];
                    if (out_f32) {
                        float* out = (float*)C + row * N + n0 + col;
                        if (col < cols) out[0] = beta == 0.f ? v0 : v0 + beta * out[0];
                        if (col + 1 < cols) out[1] = beta == 0.f ? v1 : v1 + beta * out[1];
                    } else {
                        bf16_t* out = (bf16_t*)C + row * N + n0 + col;
                        if (col + 1 < cols && beta == 0.f) {
                            *(unsigned*)out = (unsigned)xt_bf16(v0) | ((unsigned)xt_bf16(v1) << 16);
                        } else {
                            if (col < cols) out[0] = xt_bf16(beta == 0.f ? v0 : v0 + beta * __uint_as_float((unsigned)out[0] << 16));
                            if (col + 1 < cols) out[1] = xt_bf16(beta == 0.f ? v1 : v1 + beta * __uint_as_float((unsigned)out[1] << 16));
                        }
                    }
                }
            }
        }
    }
}

#define XT_ENTRY(BN) XT_ENTRY_(BN)
#define XT_ENTRY_(BN) \
extern "C" __global__ void __launch_bounds__(XT_THREADS, 1) xmoe_expert_gemm_tma_n##BN( \
    const __grid_constant__ XGTensorMap mapA, const __grid_constant__ XGTensorMap mapB, void* C, \
    const int* __restrict__ row_start, const int* __restrict__ row_count, const int* __restrict__ tile_start, \
    int E, int N, int K, float beta, int out_f32) { \
    xt_kernel<BN>(&mapA, &mapB, C, row_start, row_count, tile_start, E, N, K, beta, out_f32); }
#ifdef XT_ONLY
XT_ENTRY(XT_ONLY)
#else
XT_ENTRY(128)
XT_ENTRY(176)
XT_ENTRY(256)
#endif
