import Foundation
import Testing
@testable import XMoEComputeCUDA

/// The kernel the backend compiles is the one the standalone harness checked on the GPU against a
/// float64 reference (Benchmarks/gpu/c3-expert-gemm/expert_gemm_tma.cuh): the device code from the
/// first helper to the kernel entries must match the harness's text.
@Suite struct ExpertGemmKernelSourceTests {
    @Test func shippedKernelIsTheHarnessKernel() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let harness = try String(contentsOf: root.appendingPathComponent("Benchmarks/gpu/c3-expert-gemm/expert_gemm_tma.cuh"), encoding: .utf8)
        guard let start = harness.range(of: "__device__ __forceinline__ unsigned xt_smem"),
              let end = harness.range(of: "#define XT_ENTRY(BN) XT_ENTRY_(BN)") else {
            Issue.record("markers missing from the harness kernel")
            return
        }
        let deviceCode = String(harness[start.lowerBound..<end.upperBound])
        let shipped = ExpertGemmKernelSource.source()
        let same = shipped.contains(deviceCode)
        #expect(same)
        let deferred = ExpertGemmKernelSource.source(deferRelease: true).hasPrefix("#define XT_DEFER 1\n")
        #expect(deferred)
    }

    @Test func sharedMemoryFitsHopper() {
        // 227 KiB of dynamic shared memory per block on sm_90.
        let largest = ExpertGemmKernelSource.blockWidths.map { ExpertGemmKernelSource.sharedBytes(blockN: $0) }.max()!
        #expect(largest <= 227 * 1024)
    }
}
