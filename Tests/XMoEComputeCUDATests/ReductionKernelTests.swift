import Foundation
import Testing
@testable import XMoEComputeCUDA

/// Host-side logic of the optimizer's whole-buffer reductions (the kernels run in xmoe-gpu-check).
@Suite struct ReductionKernelTests {
    /// The grid depends on the element count alone (so the summation order, and the bits, are the
    /// same every run) and never exceeds what the one-block second pass is written for.
    @Test func gridFollowsTheCountAndStaysWithinTheSecondPass() {
        #expect(LaunchShape.bufferReduction(count: 0) == nil)
        let expected: [(Int, UInt32)] = [(1, 1), (256, 1), (257, 2), (262_144, 1024), (262_145, 1024), (3_000_017, 1024)]
        for (count, blocks) in expected {
            let shape = LaunchShape.bufferReduction(count: count)!
            #expect(shape.grid.x == blocks, "count \(count)")
            #expect(Int(shape.block.x) == LaunchShape.elementwiseBlock)
            #expect(Int(shape.block.x) % 32 == 0)  // block_sum_f64 reduces whole warps
        }
    }

    /// The reductions live in the one module the context loads, use no atomics, and test for NaN
    /// and Inf by the exponent bits (a fast-math flag cannot fold a bit test away).
    @Test func kernelsAreInTheModuleWithoutAtomics() {
        let source = KernelSource.source()
        for name in ReductionKernels.kernelNames {
            #expect(KernelSource.kernelNames.contains(name), "\(name)")
            #expect(source.contains("extern \"C\" __global__ void \(name)("), "\(name)")
        }
        let usesAtomics = ReductionKernels.source.contains("atomic")
        #expect(!usesAtomics)
        let bitTest = ReductionKernels.source.contains("0x7f800000u")
        #expect(bitTest)
    }
}
