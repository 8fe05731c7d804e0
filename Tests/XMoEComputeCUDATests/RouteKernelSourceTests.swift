import Foundation
import Testing
import XMoECompute
@testable import XMoEComputeCUDA

/// The routing module's source, checked without a GPU (NVRTC compiles it on the device machine, or
/// here with `xmoe-gpu-check --compile-only sm_90` where libnvrtc is installed).
@Suite struct RouteKernelSourceTests {
    @Test func everyKernelIsDefinedOnceAndBracesBalance() {
        let source = RouteKernelSource.source()
        for name in RouteKernelSource.kernelNames {
            let definitions = source.components(separatedBy: "extern \"C\" __global__ void \(name)(").count - 1
            #expect(definitions == 1, "\(name) defined \(definitions) times")
        }
        let opens = source.filter { $0 == "{" }.count, closes = source.filter { $0 == "}" }.count
        #expect(opens == closes)
        let parens = source.filter { $0 == "(" }.count, closing = source.filter { $0 == ")" }.count
        #expect(parens == closing)
        // The per-token choice buffer is sized by the limit the ops enforce.
        #expect(source.contains("#define MAXK \(maxRouteTopK)"))
    }

    @Test func theContextLoadsTheRoutingModuleAndNamesDoNotCollide() {
        let names = KernelSource.modules.flatMap(\.kernelNames)
        #expect(Set(names).count == names.count)
        #expect(Set(RouteKernelSource.kernelNames).isSubset(of: Set(names)))
    }

    @Test func aThreadPerTokenLaunchCoversEveryToken() {
        let none = CUDABackend.perToken(0)
        #expect(none == nil)
        let shape = CUDABackend.perToken(8192)!
        let covered = Int(shape.grid.x) * Int(shape.block.x)
        #expect(covered == 8192)
        let odd = CUDABackend.perToken(33)!
        #expect(Int(odd.grid.x) * Int(odd.block.x) >= 33 && Int(odd.grid.x - 1) * Int(odd.block.x) < 33)
    }
}
