import Testing
import XMoECompute
@testable import XMoEModel

/// Permuting straight into bf16 (round the T token rows, gather their bits) must give exactly the
/// rows a bf16 GEMM input had before: token row x[token of b], rounded to nearest even. The
/// reference here is the host plan's token list and a rounding written out in the test.
@Suite struct PermuteInComputeDTypeTests {
    @Test(arguments: [nil, 3] as [Int?])
    func bf16RowsAreTheRoundedTokenRows(capacity: Int?) {
        let backend = CPUBackend()
        let (t, e, k, h) = (7, 4, 2, 6)
        // Two distinct experts a token, weights with ties (the capacity rule breaks them by slot);
        // 14 slots over 4 experts overfill one at capacity 3.
        var expert_TK: [Int] = [], weight_TK: [Float] = []
        for token in 0..<t {
            let first = (3 * token) % e
            expert_TK += [first, (first + 1 + token % (e - 1)) % e]
            weight_TK += [Float(1 + (7 * token) % 5) / 8, Float(1 + (3 * token) % 4) / 16]
        }
        let host = PermutePlan(routing: Routing(tokens: t, experts: e, topK: k, expert_TK: expert_TK, weight_TK: weight_TK,
                                                auxLoss: 0, zLoss: 0), capacity: capacity)
        let device = DeviceRouting(tokens: t, experts: e, topK: k,
                                   expert_TK: tensor(backend, ints: expert_TK.map(Int32.init)), weight_TK: tensor(backend, weight_TK),
                                   routed_E: backend.makeTensor([e], dtype: .int32), losses_2: backend.makeTensor([2]))
        let plan = PermutePlan(backend, routing: device, capacity: capacity)
        #expect(plan.counts_E == host.counts_E)
        if capacity != nil { #expect(plan.dropped > 0) }

        // Values that round differently: ties, carries into the exponent, negatives.
        let x: [Float] = (0..<(t * h)).map { i in Float(bitPattern: 0x3F80_0000 &+ UInt32(i) &* 0x0000_8001) * (i % 3 == 0 ? -1 : 1) }
        let x_TH = tensor(backend, x, shape: [t, h])
        let x16_BH = Permute(backend: backend).forward(x_TH, plan: plan, dtype: .bfloat16)
        #expect(x16_BH.dtype == .bfloat16 && x16_BH.shape == [plan.rows, h])
        let expected: [UInt16] = host.token_B!.flatMap { token in (0..<h).map { roundedBits(x[token * h + $0]) } }
        #expect(Array(x16_BH.halves) == expected)
    }

    private func roundedBits(_ x: Float) -> UInt16 {
        let u = x.bitPattern
        return UInt16((u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16)
    }

    private func tensor(_ backend: Backend, _ values: [Float], shape: [Int]? = nil) -> Tensor {
        let out = backend.makeTensor(shape ?? [values.count])
        backend.upload(values, to: out)
        return out
    }

    private func tensor(_ backend: Backend, ints: [Int32]) -> Tensor {
        let out = backend.makeTensor([ints.count], dtype: .int32)
        backend.upload(ints, to: out)
        return out
    }
}
