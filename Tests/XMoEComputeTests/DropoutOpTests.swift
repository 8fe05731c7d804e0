import Testing
@testable import XMoECompute

@Suite struct DropoutOpTests {
    /// With a fixed mask, L = Σ w ⊙ dropout(x) has ∂L/∂x = w ⊙ mask: the backward (which adds into
    /// dX) against central differences of the forward, and the forward against x ⊙ mask in float64.
    @Test func backwardMatchesFiniteDifferencesWithAFixedMask() {
        let backend = CPUBackend(threads: 2)
        var random = TestRandom(seed: 11)
        let n = 300, p = 0.25
        let x = random.floats(n), w = random.floats(n)
        let mask = (0..<n).map { _ in random.uniform() < 2 * p - 1 ? Float(0) : Float(1 / (1 - p)) }
        let xT = backend.tensor([3, 100], x), maskT = backend.tensor([300], mask), out = backend.makeTensor([3, 100])
        backend.dropoutForward(xT, mask: maskT, out: out)
        expectClose(backend.downloadFloats(out), (0..<n).map { Double(x[$0]) * Double(mask[$0]) }, atol: 1e-7, rtol: 1e-6, "out")

        let prior = random.floats(n)
        let dX = backend.tensor([3, 100], prior)
        backend.dropoutBackward(dOut: backend.tensor([3, 100], w), mask: maskT, dX: dX)
        func loss(_ values: [Float]) -> Double {
            let o = backend.makeTensor([n])
            backend.dropoutForward(backend.tensor([n], values), mask: maskT, out: o)
            return zip(backend.downloadFloats(o), w).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        let eps: Float = 0.125  // a power of two: x ± eps is exact, and L is linear in x
        var fd: [Double] = []
        for i in 0..<n {
            var up = x, down = x
            up[i] += eps
            down[i] -= eps
            fd.append(Double(prior[i]) + (loss(up) - loss(down)) / (2 * Double(eps)))
        }
        expectClose(backend.downloadFloats(dX), fd, atol: 1e-4, rtol: 1e-4, "dX (prior + w ⊙ mask)")
        let droppedSome = mask.contains(0), keptSome = mask.contains { $0 > 1 }
        #expect(droppedSome && keptSome)
    }
}
