import Foundation
import Testing
@testable import XMoEComputeCUDA

/// The sm_90a expert GEMM's source: an entry for every layout and width the backend looks up, and
/// wgmma wrappers whose inline-asm operand numbers match their operand lists (a wrong number is
/// not an NVRTC error but a wrong register). The kernel itself is checked on the GPU against the
/// CPU backend (`xmoe-gpu-check --expert-gemm`).
@Suite struct ExpertGemmKernelSourceTests {
    @Test func everyLayoutAndWidthHasAnEntry() {
        let source = ExpertGemmKernelSource.source()
        for layout in ExpertGemmKernelLayout.allCases {
            for n in layout.blockWidths {
                let name = ExpertGemmKernelSource.kernelName(blockN: n, layout: layout)
                let entry = "XT_ENTRY(\(n), \(layout.rawValue), \(name))"
                #expect(source.contains(entry), "missing \(entry)")
            }
        }
        let names = ExpertGemmKernelLayout.allCases.flatMap { l in l.blockWidths.map { ExpertGemmKernelSource.kernelName(blockN: $0, layout: l) } }
        #expect(Set(names).count == names.count)
        let deferred = ExpertGemmKernelSource.source(deferRelease: true).hasPrefix("#define XT_DEFER 1\n")
        #expect(deferred)
    }

    @Test(arguments: [128, 176, 256])
    func wgmmaOperandsAreNumberedInOrder(n: Int) throws {
        let text = ExpertGemmKernelSource.wgmmaFunction(n: n)
        let accumulators = n / 2
        // n/2 accumulators %0…, then the two descriptors, the scale-d flag and the two transposes.
        #expect(text.contains("m64n\(n)k16"))
        #expect(text.components(separatedBy: "\"+f\"(d[").count - 1 == accumulators)
        #expect(text.contains("\"+f\"(d[\(accumulators - 1)])"))
        #expect(!text.contains("d[\(accumulators)]"))
        #expect(text.contains("{%0, %1, "))
        #expect(text.contains("%\(accumulators - 1)}, %\(accumulators), %\(accumulators + 1), p, 1, 1, %\(accumulators + 3), %\(accumulators + 4);"))
        #expect(text.contains("setp.ne.b32 p, %\(accumulators + 2), 0;"))
        #expect(text.contains(": \"l\"(da), \"l\"(db), \"r\"(1), \"n\"(TA), \"n\"(TB));"))
    }

    @Test func sharedMemoryFitsHopper() {
        // 227 KiB of dynamic shared memory per block on sm_90.
        let largest = ExpertGemmKernelSource.blockWidths.map { ExpertGemmKernelSource.sharedBytes(blockN: $0) }.max()!
        #expect(largest <= 227 * 1024)
    }

    @Test func mnMajorWidthsAreWholeBoxes() {
        // An MN-major B is loaded in boxes of 64 columns; two consumer warpgroups split the B boxes.
        for layout in [ExpertGemmKernelLayout.weightsNContiguous, .weightGradient] {
            #expect(layout.blockWidths.allSatisfy { $0 % 64 == 0 && $0 <= 256 })
        }
    }
}
