// xmoe expert grouped GEMM for sm_90a: C[seg_g] = A[seg_g] · B_gᵀ (+ beta · C), A [rows, K] and
// Bt_g [N, K] bf16, both K-contiguous; fp32 accumulation in wgmma; fp32 or bf16 C [rows, N].
// Persistent CTAs walk a static list of (expert, m-tile, n-tile) tiles; 2 warpgroups × 64 rows;
// a cp.async pipeline of STAGES stages into 128-byte-swizzled shared memory read by wgmma.
typedef unsigned short bf16_t;
typedef unsigned long long u64;
#define XG_BM 128
#define XG_BN 128
#define XG_BK 64
#ifndef XG_STAGES
#define XG_STAGES 5
#endif
#define XG_THREADS 256
#define XG_TILE_BYTES (XG_BM * XG_BK * 2)
#define XG_STAGE_BYTES (2 * XG_TILE_BYTES)

__device__ __forceinline__ unsigned xg_smem(const void* p) { return (unsigned)__cvta_generic_to_shared(p); }

// Copy 16 bytes global → shared, zero-filling what lies outside (src_bytes 0 or 16).
__device__ __forceinline__ void xg_cp16(unsigned dst, const void* src, int src_bytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" :: "r"(dst), "l"(src), "r"(src_bytes));
}

// A [rows] × [64 of K] tile, rows × 128 bytes, 16-byte chunk c of row r at chunk c ^ (r & 7):
// the 128-byte swizzle wgmma's descriptor mode 1 expects (tile base 1024-aligned).
__device__ __forceinline__ void xg_load_tile(unsigned base, const bf16_t* src, int ld, int rows_valid, int k0, int K, int tid) {
    #pragma unroll
    for (int i = 0; i < (XG_BM * 8) / XG_THREADS; i++) {
        int idx = tid + i * XG_THREADS;
        int r = idx >> 3, c = idx & 7;
        int k = k0 + c * 8;
        bool ok = r < rows_valid && k < K;
        const bf16_t* g = ok ? src + (long long)r * ld + k : src;
        xg_cp16(base + r * 128 + ((c ^ (r & 7)) << 4), g, ok ? 16 : 0);
    }
}

__device__ __forceinline__ u64 xg_desc(unsigned addr) {
    return (u64)((addr & 0x3FFFF) >> 4) | ((u64)1 << 16) | ((u64)(1024 >> 4) << 32) | ((u64)1 << 62);
}

__device__ __forceinline__ void xg_wgmma(float (&d)[64], u64 da, u64 db, int scale_d) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
        "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "
        "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
        "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
        "%64, %65, p, 1, 1, 0, 0;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
          "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
          "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
          "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]),
          "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]),
          "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]),
          "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
          "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
        : "l"(da), "l"(db), "r"(scale_d));
}

__device__ __forceinline__ bf16_t xg_bf16(float x) {
    unsigned b = __float_as_uint(x);
    return (b & 0x7fffffffu) > 0x7f800000u ? (bf16_t)((b >> 16) | 0x40u) : (bf16_t)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}

// tiles: for expert g, tile_start[g] .. tile_start[g+1]-1 (tile_start has E+1 entries); row_start,
// rows per expert. out_f32: C is float, else bf16. beta applies to the old C (not read when 0).
extern "C" __global__ void __launch_bounds__(XG_THREADS, 1) xmoe_expert_gemm_sm90(
    const bf16_t* __restrict__ A, const bf16_t* __restrict__ Bt, void* C,
    const int* __restrict__ row_start, const int* __restrict__ row_count, const int* __restrict__ tile_start,
    int E, int N, int K, float beta, int out_f32)
{
    extern __shared__ __align__(1024) unsigned char xg_raw[];
    unsigned char* smem = (unsigned char*)(((unsigned long long)xg_raw + 1023) & ~1023ull);
    const int tid = threadIdx.x, wg = tid >> 7, t128 = tid & 127, warp = t128 >> 5, lane = tid & 31;
    const int n_tiles = (N + XG_BN - 1) / XG_BN, KT = (K + XG_BK - 1) / XG_BK;
    const int total = tile_start[E];
    const unsigned s_base = xg_smem(smem);
    for (int tile = blockIdx.x; tile < total; tile += gridDim.x) {
        int g = 0;
        while (tile_start[g + 1] <= tile) g++;
        const int local = tile - tile_start[g];
        const int m0 = (local / n_tiles) * XG_BM, n0 = (local % n_tiles) * XG_BN;
        const int rows = row_count[g] - m0, cols = N - n0;
        const bf16_t* a = A + ((long long)row_start[g] + m0) * K;
        const bf16_t* b = Bt + ((long long)g * N + n0) * K;
        float d[64];
        #pragma unroll
        for (int i = 0; i < 64; i++) d[i] = 0.f;
        // Prologue: tiles 0 .. STAGES-3 in flight.
        #pragma unroll
        for (int s = 0; s < XG_STAGES - 2; s++) {
            if (s < KT) {
                xg_load_tile(s_base + s * XG_STAGE_BYTES, a, K, rows, s * XG_BK, K, tid);
                xg_load_tile(s_base + s * XG_STAGE_BYTES + XG_TILE_BYTES, b, K, cols, s * XG_BK, K, tid);
            }
            asm volatile("cp.async.commit_group;\n" ::);
        }
        for (int kt = 0; kt < KT; kt++) {
            asm volatile("cp.async.wait_group %0;\n" :: "n"(XG_STAGES - 3));
            asm volatile("fence.proxy.async.shared::cta;\n" ::);
            __syncthreads();
            // Every warpgroup has finished the wgmma of tile kt-2 (wait_group 1 below), so its stage is free.
            int nk = kt + XG_STAGES - 2;
            if (nk < KT) {
                int s = nk % XG_STAGES;
                xg_load_tile(s_base + s * XG_STAGE_BYTES, a, K, rows, nk * XG_BK, K, tid);
                xg_load_tile(s_base + s * XG_STAGE_BYTES + XG_TILE_BYTES, b, K, cols, nk * XG_BK, K, tid);
            }
            asm volatile("cp.async.commit_group;\n" ::);
            const unsigned sa = s_base + (kt % XG_STAGES) * XG_STAGE_BYTES + wg * (64 * 128);
            const unsigned sb = s_base + (kt % XG_STAGES) * XG_STAGE_BYTES + XG_TILE_BYTES;
            asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
            #pragma unroll
            for (int j = 0; j < XG_BK / 16; j++) xg_wgmma(d, xg_desc(sa + 32 * j), xg_desc(sb + 32 * j), 1);
            asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
            asm volatile("wgmma.wait_group.sync.aligned 1;\n" ::: "memory");
        }
        asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
        asm volatile("cp.async.wait_group 0;\n" ::);
        __syncthreads();  // the next tile's prologue overwrites stages this tile's wgmma read
        // Epilogue: the m64nNk16 accumulator layout (per n8 block i: rows r, r+8; columns c, c+1).
        const int r_lo = wg * 64 + warp * 16 + (lane >> 2);
        #pragma unroll
        for (int i = 0; i < XG_BN / 8; i++) {
            const int c = i * 8 + (lane & 3) * 2;
            #pragma unroll
            for (int h = 0; h < 2; h++) {
                const int r = r_lo + h * 8;
                if (r >= rows) continue;
                const long long row = (long long)row_start[g] + m0 + r;
                const float v0 = d[4 * i + 2 * h], v1 = d[4 * i + 2 * h + 1];
                if (out_f32) {
                    float* out = (float*)C + row * N + n0 + c;
                    if (c < cols) out[0] = beta == 0.f ? v0 : v0 + beta * out[0];
                    if (c + 1 < cols) out[1] = beta == 0.f ? v1 : v1 + beta * out[1];
                } else {
                    bf16_t* out = (bf16_t*)C + row * N + n0 + c;
                    if (c < cols) out[0] = xg_bf16(beta == 0.f ? v0 : v0 + beta * __uint_as_float((unsigned)out[0] << 16));
                    if (c + 1 < cols) out[1] = xg_bf16(beta == 0.f ? v1 : v1 + beta * __uint_as_float((unsigned)out[1] << 16));
                }
            }
        }
    }
}

// y [E, N, K] = transpose of each x_g [K, N] (bf16), so the forward's weights become K-contiguous.
extern "C" __global__ void xmoe_expert_transpose_bf16(const bf16_t* __restrict__ x, bf16_t* __restrict__ y, int K, int N) {
    __shared__ bf16_t t[32][33];
    const int g = blockIdx.z, k0 = blockIdx.y * 32, n0 = blockIdx.x * 32;
    const bf16_t* xg = x + (long long)g * K * N;
    bf16_t* yg = y + (long long)g * K * N;
    for (int j = threadIdx.y; j < 32; j += 8) {
        int k = k0 + j, n = n0 + threadIdx.x;
        if (k < K && n < N) t[j][threadIdx.x] = xg[(long long)k * N + n];
    }
    __syncthreads();
    for (int j = threadIdx.y; j < 32; j += 8) {
        int n = n0 + j, k = k0 + threadIdx.x;
        if (k < K && n < N) yg[(long long)n * K + k] = t[threadIdx.x][j];
    }
}
