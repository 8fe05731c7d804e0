import Foundation
import Testing
@testable import XMoECompute

/// The optimizer's whole-buffer reductions on the CPU backend (the reference the GPU's are checked
/// against by xmoe-gpu-check).
@Suite struct BufferReductionTests {
    let backend = CPUBackend()

    /// The square of an fp32 value is exact in float64 (48 significant bits), so a reference that adds
    /// the squares pairwise, in another order, differs only by float64 rounding; a view at an offset
    /// sums only its own elements.
    @Test func sumOfSquaresOfAViewMatchesAFloat64Reference() {
        var random = TestRandom(seed: 91)
        let values = random.floats(10_007, scale: 40)
        let tensor = backend.tensor([values.count], values)
        let view = tensor.view(offset: 3, shape: [10_000])
        let sum = backend.sumOfSquares(view)
        let reference = pairwiseSum(values[3..<10_003].map { Double($0) * Double($0) })
        let relative = abs(sum - reference) / reference
        #expect(relative < 1e-13, "\(sum) vs \(reference)")
        let whole = backend.sumOfSquares(tensor)
        #expect(whole > sum)
        let empty = backend.sumOfSquares(tensor.view(offset: 5, shape: [0]))
        #expect(empty == 0)
    }

    @Test func allFiniteFindsNaNAndInfinityOnlyInsideTheView() {
        let n = 1001
        for (index, bad) in [(0, Float.nan), (500, Float.infinity), (n - 1, -Float.infinity)] {
            var values = (0..<n).map { Float($0 % 13) * 2e37 }  // up to 2.4e38: large but finite
            values[index] = bad
            let tensor = backend.tensor([n], values)
            let whole = backend.allFinite(tensor)
            #expect(!whole, "\(bad) at \(index)")
            let lo = index == 0 ? 1 : 0, hi = index == n - 1 ? n - 1 : n
            if index == 0 || index == n - 1 {
                let outside = backend.allFinite(tensor.view(offset: lo, shape: [hi - lo]))
                #expect(outside, "\(bad) at \(index) is outside the view")
            }
        }
        let clean = backend.allFinite(backend.tensor([3], [Float.greatestFiniteMagnitude, -Float.greatestFiniteMagnitude, 0]))
        #expect(clean)
    }

    private func pairwiseSum(_ x: [Double]) -> Double {
        if x.count <= 2 { return x.reduce(0, +) }
        let mid = x.count / 2
        return pairwiseSum(Array(x[..<mid])) + pairwiseSum(Array(x[mid...]))
    }
}
