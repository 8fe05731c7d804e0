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
    /// kernels number tiles from the end (tile = gridDim.y − 1 − blockIdx.y), still one block a tile.
    @Test(arguments: [1, 15, 16, 17, 37, 63, 64, 65, 129, 2048, 2049])
    func tilesCoverEverySequencePosition(seqLen: Int) {
        for (shape, tile, pass) in [(L.forward(batchHeads: 6, seqLen: seqLen)!, K.forwardRows, "fwd"),
                                    (L.dq(batchHeads: 6, seqLen: seqLen)!, K.dqRows, "dq"),
                                    (L.dkdv(batchHeads: 6, seqLen: seqLen)!, K.dkdvKeys, "dkdv")] {
            let blocks = Int(shape.grid.y)
            let reversedStarts = (0..<blocks).map { (blocks - 1 - $0) * tile }
            var owner = [Int](repeating: 0, count: seqLen)
            for start in reversedStarts { for r in start..<min(start + tile, seqLen) { owner[r] += 1 } }
            let everyRowOnce = owner.allSatisfy { $0 == 1 }
            let noEmptyBlock = reversedStarts.allSatisfy { $0 < seqLen }
            #expect(everyRowOnce, "seq \(seqLen), tile \(tile): rows covered \(Set(owner)) times")
            #expect(noEmptyBlock, "seq \(seqLen), tile \(tile): a block starts past the sequence")
            #expect(shape.grid.x == 6 && shape.grid.z == 1)
            #expect(Int(shape.block.x) == K.threads(pass) && shape.block.y == 1 && shape.block.z == 1)
            #expect(tile == 16 * K.threads(pass) / 32, "a warp owns 16 rows or keys (the mma's M)")
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
        #expect(K.kernelNames.count == 2 + 3 * K.headWidths.count)  // the two packs, then fwd, dq, dk/dv per width
        for name in K.kernelNames {
            let definitions = source.components(separatedBy: "\(name)(").count - 1  // kernels are never called in the source
            #expect(definitions == 1, "\(name) defined \(definitions) times")
        }
        #expect(K.kernelNames.contains(K.kernelName("dkdv", headDim: 128)))
        for (macro, value) in [("TC_FWD_THREADS", K.forwardThreads), ("TC_FWD_ROWS", K.forwardRows), ("TC_FWD_KEYS", K.keyTile),
                               ("TC_DQ_THREADS", K.dqThreads), ("TC_DQ_ROWS", K.dqRows), ("TC_DQ_KEYS", K.dqKeyTile),
                               ("TC_KV_THREADS", K.dkdvThreads), ("TC_KV_KEYS", K.dkdvKeys), ("TC_KV_QUERIES", K.dkdvQueries)] {
            #expect(source.contains("#define \(macro) \(value)\n"), "\(macro)")
        }
        #expect(source.contains("ldmatrix.sync.aligned.m8n8.x4.shared.b16"))
        #expect(source.contains("extern __shared__"), "tiles live in dynamic shared memory")
        #expect(source.contains("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32"))
        #expect(source.contains("cp.async.cg.shared.global"))
        #expect(!source.contains("atomicAdd"), "flash kernels must not use atomics (bit-identical runs)")
        let moduleNames = KernelSource.modules.flatMap(\.kernelNames)
        #expect(Set(moduleNames).count == moduleNames.count, "a kernel name appears in two modules")
        let inModules = KernelSource.modules.contains { $0.kernelNames == K.kernelNames }
        #expect(inModules, "the tensor-core module is registered")
    }

    /// Dynamic shared memory per block (every launch passes it; each kernel opts in at load), from
    /// the tiles: rows of D + 8 bf16; dk/dv adds its lse and D_i tiles. Fits an H100/H200 block.
    @Test func sharedMemoryMatchesTheTiles() {
        for d in K.headWidths {
            let row = (d + 8) * 2
            let expected = ["fwd": 2 * 2 * K.keyTile * row, "dq": 2 * 2 * K.dqKeyTile * row,
                            "dkdv": 2 * K.dkdvKeys * row + 2 * 2 * K.dkdvQueries * row + 2 * 2 * K.dkdvQueries * 4]
            for (pass, bytes) in expected {
                let computed = K.sharedBytes(pass, headDim: d)
                #expect(computed == bytes, "\(pass) d\(d)")
                #expect(computed <= 227 * 1024)
                #expect(K.dynamicSharedBytes[K.kernelName(pass, headDim: d)] == bytes, "\(pass) d\(d) opts in to its bytes")
            }
        }
        // At the tiles chosen (64 keys, query tiles of 64): dk/dv at width 128 holds K and V (34 KiB)
        // and two Q/dO tiles (68 KiB): over the 48 KiB of a launch without opt-in, two blocks an SM.
        if K.dkdvKeys == 64 && K.dkdvQueries == 64 { #expect(K.sharedBytes("dkdv", headDim: 128) == 105_472) }
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
