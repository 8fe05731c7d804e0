import Foundation
import Testing
@testable import XMoEComputeCUDA

/// The flash kernels' grids, from shapes alone: every query row and key row lies in exactly one
/// block, sequence·heads along y, and nothing is launched for an empty problem.
@Suite struct FlashAttentionLaunchTests {
    @Test(arguments: [1, 7, 8, 9, 16, 17, 31, 32, 33, 37, 130, 2048, 2049])
    func tilesCoverEverySequencePosition(seqLen: Int) {
        let k = FlashAttentionKernels.self
        for (shape, tile) in [(FlashAttentionLaunch.forward(batchHeads: 5, seqLen: seqLen)!, k.forwardRows),
                              (FlashAttentionLaunch.dq(batchHeads: 5, seqLen: seqLen)!, k.dqRows),
                              (FlashAttentionLaunch.dkdv(batchHeads: 5, seqLen: seqLen)!, k.dkdvKeys)] {
            let covered = Int(shape.grid.x) * tile
            #expect(covered >= seqLen, "seq \(seqLen), tile \(tile): \(shape.grid.x) blocks cover \(covered)")
            #expect(covered - seqLen < tile, "seq \(seqLen), tile \(tile): a block too many")
            #expect(shape.grid.y == 5 && shape.grid.z == 1)
            #expect(Int(shape.block.x) == k.threads && shape.block.y == 1)
        }
    }

    @Test func deltaIsOneWarpPerRow() {
        let shape = FlashAttentionLaunch.delta(batchHeads: 3, seqLen: 37)!
        let warps = Int(shape.grid.x) * Int(shape.block.x) / 32
        #expect(warps >= 3 * 37 && warps - 3 * 37 < FlashAttentionKernels.deltaRows)
        #expect(FlashAttentionLaunch.delta(batchHeads: 0, seqLen: 37) == nil)
        #expect(FlashAttentionLaunch.forward(batchHeads: 4, seqLen: 0) == nil)
        #expect(FlashAttentionLaunch.dkdv(batchHeads: 0, seqLen: 8) == nil)
    }

    @Test func headWidthsBeyondTheSharedTilesAreRefused() {
        #expect(FlashAttentionLaunch.unsupportedHeadWidth(1) == nil)
        #expect(FlashAttentionLaunch.unsupportedHeadWidth(128) == nil)
        let tooWide = FlashAttentionLaunch.unsupportedHeadWidth(129)
        #expect(tooWide?.contains("129") == true)
    }

    /// The kernels the backend looks up exist in the flash module's source, once each, and the
    /// source is generated from the same tile sizes the grids use.
    @Test func flashSourceDefinesItsKernelsAndTiles() {
        let source = FlashAttentionKernels.source()
        for name in FlashAttentionKernels.kernelNames {
            let definitions = source.components(separatedBy: "\n\(name)(").count - 1
            #expect(definitions == 1, "\(name) defined \(definitions) times")
        }
        #expect(source.contains("#define FA_FWD_ROWS \(FlashAttentionKernels.forwardRows)\n"))
        #expect(source.contains("#define FA_DQ_ROWS \(FlashAttentionKernels.dqRows)\n"))
        #expect(source.contains("#define FA_KV_KEYS \(FlashAttentionKernels.dkdvKeys)\n"))
        #expect(source.contains("#define FA_MAXD \(FlashAttentionKernels.maxHeadDim)\n"))
        #expect(!source.contains("atomicAdd"), "flash kernels must not use atomics (bit-identical runs)")
        let moduleNames = KernelSource.modules.flatMap(\.kernelNames)
        #expect(Set(moduleNames).count == moduleNames.count, "a kernel name appears in two modules")
    }
}
