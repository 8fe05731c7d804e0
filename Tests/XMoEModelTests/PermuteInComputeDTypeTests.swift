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
        var random = SplitMix(seed: 11)
        var expert_TK: [Int] = [], weight_TK: [Float] = []
        for _ in 0..<t {
            let first = Int(random.next() % UInt64(e)), second = (first + 1 + Int(random.next() % UInt64(e - 1))) % e
            expert_TK += [first, second]
            weight_TK += [Float(random.unit()), Float(random.unit())]
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

private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
