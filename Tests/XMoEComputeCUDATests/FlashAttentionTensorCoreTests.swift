import Foundation
import Testing
import XMoECompute
import XMoEParallel
@testable import XMoEComputeCUDA

/// The tensor-core flash kernels' host side: grids from shapes alone, the one selection rule, the
/// alignment gate, and the generated source (its kernels, tiles, shared memory and no atomics).
@Suite struct FlashAttentionTensorCoreTests {
    typealias K = FlashAttentionTensorCoreKernels
    typealias L = FlashAttentionTensorCoreLaunch

    /// Every query row (forward, dq) and key row (dk/dv) lies in exactly one block; the forward and dq
    /// kernels number tiles from the end (tile = gridDim.x − 1 − blockIdx.x), still one block a tile.
    @Test(arguments: [1, 15, 16, 17, 37, 63, 64, 65, 129, 2048, 2049])
    func tilesCoverEverySequencePosition(seqLen: Int) {
        for (shape, tile) in [(L.forward(batchHeads: 6, seqLen: seqLen)!, K.forwardRows),
                              (L.dq(batchHeads: 6, seqLen: seqLen)!, K.dqRows),
                              (L.dkdv(batchHeads: 6, seqLen: seqLen)!, K.dkdvKeys)] {
            let blocks = Int(shape.grid.x)
            let reversedStarts = (0..<blocks).map { (blocks - 1 - $0) * tile }
            var owner = [Int](repeating: 0, count: seqLen)
            for start in reversedStarts { for r in start..<min(start + tile, seqLen) { owner[r] += 1 } }
            let everyRowOnce = owner.allSatisfy { $0 == 1 }
            let noEmptyBlock = reversedStarts.allSatisfy { $0 < seqLen }
            #expect(everyRowOnce, "seq \(seqLen), tile \(tile): rows covered \(Set(owner)) times")
            #expect(noEmptyBlock, "seq \(seqLen), tile \(tile): a block starts past the sequence")
            #expect(shape.grid.y == 6 && shape.grid.z == 1)
            #expect(Int(shape.block.x) == K.threads && shape.block.y == 1 && shape.block.z == 1)
        }
    }

    @Test func emptyProblemsLaunchNothing() {
        #expect(L.forward(batchHeads: 0, seqLen: 5) == nil)
        #expect(L.dq(batchHeads: 3, seqLen: 0) == nil)
        #expect(L.dkdv(batchHeads: 0, seqLen: 0) == nil)
    }

    /// bf16 compute and widths 64 and 128 only; fp32 compute always keeps the fp32 kernels.
    @Test func selectionRule() {
        let cases: [(DType, Int, Bool)] = [(.bfloat16, 64, true), (.bfloat16, 128, true), (.float32, 64, false),
                                           (.float32, 128, false), (.bfloat16, 16, false), (.bfloat16, 96, false),
                                           (.bfloat16, 256, false), (.float16, 128, false)]
        for (dtype, d, expected) in cases {
            let got = CUDABackend.usesTensorCoreFlash(computeDType: dtype, headDim: d)
            #expect(got == expected, "\(dtype) width \(d)")
        }
        let bf16Prefers = CUDABackend.prefersFlashAttention(computeDType: .bfloat16)
        let fp32Prefers = CUDABackend.prefersFlashAttention(computeDType: .float32)
        #expect(bf16Prefers && !fp32Prefers)
    }

    @Test func alignmentGate() {
        #expect(L.aligned([0x7f00_0000_0000, 0x7f00_0000_0100, 0x10]))
        #expect(!L.aligned([0x7f00_0000_0000, 0x7f00_0000_0008]))
        #expect(!L.aligned([0x4]))
    }

    /// Each launched kernel is defined once, in the tensor-core module only; the tiles in the source
    /// are the ones the grids use; no atomics (bit-identical runs).
    @Test func sourceDefinesItsKernelsAndTiles() {
        let source = K.source()
        #expect(K.kernelNames.count == 1 + 3 * K.headWidths.count)
        for name in K.kernelNames {
            let definitions = source.components(separatedBy: "\(name)(").count - 1  // kernels are never called in the source
            #expect(definitions == 1, "\(name) defined \(definitions) times")
        }
        #expect(K.kernelNames.contains(K.kernelName("dkdv", headDim: 128)))
        #expect(source.contains("#define TC_THREADS \(K.threads)\n"))
        #expect(source.contains("#define TC_FWD_KEYS \(K.keyTile)\n"))
        #expect(source.contains("#define TC_DQ_KEYS \(K.dqKeyTile)\n"))
        #expect(source.contains("#define TC_KV_KEYS \(K.dkdvKeys)\n"))
        #expect(source.contains("#define TC_KV_QUERIES \(K.dkdvQueries)\n"))
        #expect(source.contains("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32"))
        #expect(source.contains("cp.async.cg.shared.global"))
        #expect(!source.contains("atomicAdd"), "flash kernels must not use atomics (bit-identical runs)")
        let moduleNames = KernelSource.modules.flatMap(\.kernelNames)
        #expect(Set(moduleNames).count == moduleNames.count, "a kernel name appears in two modules")
        let inModules = KernelSource.modules.contains { $0.kernelNames == K.kernelNames }
        #expect(inModules, "the tensor-core module is registered")
    }

    /// Static shared memory per block, as ptxas reported it for sm_90 (NVRTC 12.9 `--ptxas-options=-v`,
    /// NOTES.md f1), and under the 48 KiB a launch without opt-in may use.
    @Test func sharedMemoryFitsAStaticLaunch() {
        let measured: [(String, Int, Int)] = [("fwd", 128, 34_816), ("dq", 128, 34_816), ("dkdv", 128, 35_328),
                                              ("fwd", 64, 18_432), ("dq", 64, 18_432), ("dkdv", 64, 18_944)]
        for (pass, d, bytes) in measured {
            let computed = K.sharedBytes(pass, headDim: d)
            #expect(computed == bytes, "\(pass) d\(d)")
            #expect(computed <= 48 * 1024)
        }
    }
}

/// `xmoe plan`'s memory estimate mirrors the backend's flash rule in a layer that cannot import
/// the CUDA module: the two must agree on every dtype and head width.
@Suite struct FlashRuleMirrorTests {
    @Test func planMirrorAgreesWithTheBackendsRule() {
        for headDim in 1...256 {
            for bf16 in [false, true] {
                let backend = CUDABackend.usesTensorCoreFlash(computeDType: bf16 ? .bfloat16 : .float32, headDim: headDim)
                let mirror = GPUMemoryInputs.cudaRunsFlashAttention(bf16: bf16, headDim: headDim)
                #expect(backend == mirror, "head width \(headDim), bf16 \(bf16)")
            }
        }
    }

    @Test func planCountsTheExpertGemmWorkspacesTheBackendAllocates() {
        #expect(GPUMemoryInputs.cudaExpertGemmWorkspaceBytes == CUDABackend.expertGemmWorkspaceBytes)
        let bf16 = GPUMemoryInputs.cuda(bf16: true, skipPolicy: false, headDim: 64).expertGemmWorkspaceBytes
        let fp32 = GPUMemoryInputs.cuda(bf16: false, skipPolicy: false, headDim: 64).expertGemmWorkspaceBytes
        #expect(bf16 == CUDABackend.expertGemmWorkspaceBytes && fp32 == 0)
    }
}
