// nvcc -O2 -arch=sm_90a -o /tmp/xg harness.cu : checks xmoe_expert_gemm_sm90 against a naive
// fp32 GPU reference and times it on the X-MoE Small shapes.
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <vector>
#include <algorithm>
#include <cstring>
#include <cuda_runtime.h>
#include "expert_gemm_sm90.cuh"

#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("CUDA %s at %d: %s\n", #x, __LINE__, cudaGetErrorString(e)); exit(1); } } while (0)

__global__ void ref_gemm(const bf16_t* A, const bf16_t* Bt, float* C, const int* rs, const int* rc, int E, int N, int K, float beta, const float* C0) {
    int g = blockIdx.z;
    int r = blockIdx.y * 16 + threadIdx.y, n = blockIdx.x * 16 + threadIdx.x;
    if (r >= rc[g] || n >= N) return;
    long long row = rs[g] + r;
    double s = 0;
    for (int k = 0; k < K; k++) s += (double)__uint_as_float((unsigned)A[row * K + k] << 16) * (double)__uint_as_float((unsigned)Bt[((long long)g * N + n) * K + k] << 16);
    C[row * N + n] = (float)(s + (double)beta * C0[row * N + n]);
}

static unsigned long long rng = 88172645463325252ull;
static float randn() { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; double u1 = ((rng >> 11) + 1.0) / 9007199254740993.0; rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; double u2 = (rng >> 11) / 9007199254740992.0; return (float)(sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2)); }
static bf16_t tobf(float x) { unsigned b; memcpy(&b, &x, 4); return (bf16_t)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16); }
static float frombf(bf16_t h) { unsigned b = (unsigned)h << 16; float x; memcpy(&x, &b, 4); return x; }

struct Problem { std::vector<int> counts; int K, N; };
static int sms;
static const int smemBytes = XG_STAGES * XG_STAGE_BYTES + 1024;

static int setup(const std::vector<int>& counts, int N, int** d_rs, int** d_rc, int** d_ts, int* totalRows) {
    int E = counts.size(); std::vector<int> rs(E), ts(E + 1); int acc = 0; ts[0] = 0;
    int nt = (N + XG_BN - 1) / XG_BN;
    for (int g = 0; g < E; g++) { rs[g] = acc; acc += counts[g]; ts[g + 1] = ts[g] + ((counts[g] + XG_BM - 1) / XG_BM) * nt; }
    CK(cudaMalloc(d_rs, E * 4)); CK(cudaMalloc(d_rc, E * 4)); CK(cudaMalloc(d_ts, (E + 1) * 4));
    CK(cudaMemcpy(*d_rs, rs.data(), E * 4, cudaMemcpyHostToDevice)); CK(cudaMemcpy(*d_rc, counts.data(), E * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(*d_ts, ts.data(), (E + 1) * 4, cudaMemcpyHostToDevice));
    *totalRows = acc; return ts[E];
}

static void launch(const bf16_t* A, const bf16_t* Bt, void* C, int* rs, int* rc, int* ts, int E, int N, int K, float beta, int f32, int tiles, cudaStream_t st = 0) {
    int grid = tiles < sms ? tiles : sms;
    if (grid == 0) return;
    xmoe_expert_gemm_sm90<<<grid, XG_THREADS, smemBytes, st>>>(A, Bt, C, rs, rc, ts, E, N, K, beta, f32);
}

int main() {
    CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
    CK(cudaFuncSetAttribute(xmoe_expert_gemm_sm90, cudaFuncAttributeMaxDynamicSharedMemorySize, smemBytes));
    int failures = 0;
    std::vector<Problem> checks = {{{0, 7, 1, 0, 20}, 72, 40}, {{130, 0, 257}, 64, 128}, {{0, 0, 1}, 64, 64}, {{33, 65, 0, 129, 1}, 200, 136},
                                   {{300, 0, 129, 77}, 2048, 1408}, {{700, 513}, 1408, 2048}};
    for (auto& p : checks) {
        int E = p.counts.size(), K = p.K, N = p.N; int *rs, *rc, *ts, T;
        int tiles = setup(p.counts, N, &rs, &rc, &ts, &T);
        std::vector<bf16_t> hA((size_t)T * K + 1), hB((size_t)E * N * K); std::vector<float> hC0((size_t)T * N + 1);
        for (auto& x : hA) x = tobf(randn()); for (auto& x : hB) x = tobf(randn()); for (auto& x : hC0) x = frombf(tobf(randn()));
        bf16_t *A, *B, *C16; float *C, *R, *C0;
        CK(cudaMalloc(&A, hA.size() * 2)); CK(cudaMalloc(&B, hB.size() * 2)); CK(cudaMalloc(&C, hC0.size() * 4)); CK(cudaMalloc(&R, hC0.size() * 4));
        CK(cudaMalloc(&C0, hC0.size() * 4)); CK(cudaMalloc(&C16, hC0.size() * 2));
        CK(cudaMemcpy(A, hA.data(), hA.size() * 2, cudaMemcpyHostToDevice)); CK(cudaMemcpy(B, hB.data(), hB.size() * 2, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(C0, hC0.data(), hC0.size() * 4, cudaMemcpyHostToDevice));
        for (float beta : {0.f, 0.5f}) {
            CK(cudaMemcpy(C, C0, hC0.size() * 4, cudaMemcpyDeviceToDevice));
            launch(A, B, C, rs, rc, ts, E, N, K, beta, 1, tiles);
            dim3 rb(16, 16);
            ref_gemm<<<dim3((N + 15) / 16, (T + 15) / 16 + 1, E), rb>>>(A, B, R, rs, rc, E, N, K, beta, C0);
            CK(cudaGetLastError()); CK(cudaDeviceSynchronize());
            std::vector<float> got(hC0.size()), ref(hC0.size());
            CK(cudaMemcpy(got.data(), C, got.size() * 4, cudaMemcpyDeviceToHost)); CK(cudaMemcpy(ref.data(), R, ref.size() * 4, cudaMemcpyDeviceToHost));
            double dn = 0, nn = 0; for (size_t i = 0; i < (size_t)T * N; i++) { double d = got[i] - ref[i]; dn += d * d; nn += (double)ref[i] * ref[i]; }
            double err = sqrt(dn / (nn > 0 ? nn : 1));
            // bf16 output, same beta (old C = bf16 of C0).
            std::vector<bf16_t> c16(hC0.size()); for (size_t i = 0; i < c16.size(); i++) c16[i] = tobf(hC0[i]);
            CK(cudaMemcpy(C16, c16.data(), c16.size() * 2, cudaMemcpyHostToDevice));
            launch(A, B, C16, rs, rc, ts, E, N, K, beta, 0, tiles); CK(cudaDeviceSynchronize());
            CK(cudaMemcpy(c16.data(), C16, c16.size() * 2, cudaMemcpyDeviceToHost));
            double dn2 = 0; for (size_t i = 0; i < (size_t)T * N; i++) { double d = frombf(c16[i]) - ref[i]; dn2 += d * d; }
            double err16 = sqrt(dn2 / (nn > 0 ? nn : 1));
            bool ok = err < 1e-5 && err16 < 1e-2 && std::isfinite(err) && std::isfinite(err16);
            failures += !ok;
            printf("%s sm90 expert gemm E%d rows%d K%d N%d beta %.1f: fp32 rel err %.2e (<=1e-5), bf16 %.2e (<=1e-2)\n", ok ? "ok  " : "FAIL", E, T, K, N, beta, err, err16);
        }
    }
    // Timings, X-MoE Small.
    const int E = 64, T = 8192 * 6, H = 2048, F = 1408;
    std::vector<int> equal(E, T / E), uneven(E);
    int s = 0; for (int g = 0; g < E; g++) { uneven[g] = T / E + (g * 37) % 257 - 128; s += uneven[g]; } uneven[E - 1] += T - s;
    bf16_t *X, *W, *Wt, *dC, *Y, *dX;
    CK(cudaMalloc(&X, (size_t)T * H * 2)); CK(cudaMalloc(&W, (size_t)E * H * F * 2)); CK(cudaMalloc(&Wt, (size_t)E * H * F * 2));
    CK(cudaMalloc(&dC, (size_t)T * F * 2)); CK(cudaMalloc(&Y, (size_t)T * F * 2)); CK(cudaMalloc(&dX, (size_t)T * H * 2));
    { std::vector<bf16_t> h((size_t)E * H * F); for (auto& x : h) x = tobf(randn());
      CK(cudaMemcpy(W, h.data(), h.size() * 2, cudaMemcpyHostToDevice)); CK(cudaMemcpy(X, h.data(), (size_t)T * H * 2, cudaMemcpyHostToDevice));
      CK(cudaMemcpy(dC, h.data() + 12345, (size_t)T * F * 2, cudaMemcpyHostToDevice)); }
    cudaEvent_t e0, e1; CK(cudaEventCreate(&e0)); CK(cudaEventCreate(&e1));
    double flop = 2.0 * T * H * F;
    auto timeit = [&](auto f) { for (int i = 0; i < 3; i++) f(); CK(cudaDeviceSynchronize()); float best[3];
        for (int r = 0; r < 3; r++) { CK(cudaEventRecord(e0)); for (int i = 0; i < 20; i++) f(); CK(cudaEventRecord(e1)); CK(cudaEventSynchronize(e1)); CK(cudaEventElapsedTime(&best[r], e0, e1)); best[r] /= 20; }
        std::sort(best, best + 3); return best[1]; };
    float tt = timeit([&] { xmoe_expert_transpose_bf16<<<dim3((F + 31) / 32, (H + 31) / 32, E), dim3(32, 8)>>>(W, Wt, H, F); });
    printf("bench: transpose weights [64, 2048, 1408] bf16: %.3f ms\n", tt);
    CK(cudaGetLastError());
    for (int u = 0; u < 2; u++) {
        auto& counts = u ? uneven : equal; const char* name = u ? "uneven" : "equal";
        int *rs, *rc, *ts, TT;
        int tiles = setup(counts, F, &rs, &rc, &ts, &TT);
        float t = timeit([&] { launch(X, Wt, Y, rs, rc, ts, E, F, H, 0.f, 0, tiles); });
        printf("expert-bench: fwd %s sm90 wgmma kernel (Wᵀ given): %.3f ms, %.0f TFLOP/s\n", name, t, flop / t / 1e9);
        int *rs2, *rc2, *ts2;
        int tiles2 = setup(counts, H, &rs2, &rc2, &ts2, &TT);
        t = timeit([&] { launch(dC, W, dX, rs2, rc2, ts2, E, H, F, 0.f, 0, tiles2); });
        printf("expert-bench: dgrad %s sm90 wgmma kernel: %.3f ms, %.0f TFLOP/s\n", name, t, flop / t / 1e9);
    }
    CK(cudaGetLastError()); CK(cudaDeviceSynchronize());
    printf("harness: %s\n", failures ? "FAILED" : "OK");
    return failures ? 1 : 0;
}
