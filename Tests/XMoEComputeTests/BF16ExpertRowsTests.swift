import Testing
@testable import XMoECompute

/// The experts' output rows in bf16 (no all-to-all between the second GEMM and the unpermute): the
/// CPU ops that read or write them must be exactly the fp32 ops on the widened values (reads) or the
/// fp32 result rounded by `convert` (the GEMM's write), bit for bit.
@Suite struct BF16ExpertRowsTests {
    let be = CPUBackend()
    // 4 tokens, K = 3, 8 kept rows: slots 4 and 7 dropped, token 2 (slots 6, 7, 8) keeps one slot
    // and token 3 none, so overwrite must zero its row.
    let t = 4, k = 3, rows = 8
    let rowOfSlot: [Int32] = [5, 0, 7, 1, -1, 3, 6, -1, 2, -1, -1, -1]

    /// A bf16 tensor of random values (rounded by `convert`) and its exact fp32 widening.
    func bf16Rows(_ random: inout TestRandom, _ shape: [Int]) -> (bf16: Tensor, widened: Tensor) {
        let src = be.tensor(shape, random.floats(shape.reduce(1, *), scale: 3))
        let src16 = be.converted(src, to: .bfloat16)
        return (src16, be.converted(src16, to: .float32))
    }

    func bits(_ t: Tensor) -> [UInt32] {
        be.downloadFloats(t.dtype == .float32 ? t : be.converted(t, to: .float32)).map(\.bitPattern)
    }

    @Test(arguments: [5, 8])
    func unpermuteFromBF16SrcIsTheFP32OpOnWidenedValues(h: Int) {
        var random = TestRandom(seed: 91)
        let (src16, wide) = bf16Rows(&random, [rows, h])
        let slots = be.intTensor([t * k], rowOfSlot), weight = be.tensor([t * k], random.floats(t * k))
        let dst0 = random.floats(t * h, scale: 2)
        for (weighted, overwrite) in [(true, false), (true, true), (false, false), (false, true)] {
            let got = be.tensor([t, h], dst0), want = be.tensor([t, h], dst0)
            be.unpermute(src16, rowOfSlot: slots, weight: weighted ? weight : nil, topK: k, into: got, overwrite: overwrite)
            be.unpermute(wide, rowOfSlot: slots, weight: weighted ? weight : nil, topK: k, into: want, overwrite: overwrite)
            #expect(bits(got) == bits(want), "weighted \(weighted), overwrite \(overwrite)")
        }
    }

    @Test(arguments: [5, 8])
    func unpermuteBackwardFromBF16SrcIsTheFP32OpOnWidenedValues(h: Int) {
        var random = TestRandom(seed: 92)
        let (src16, wide) = bf16Rows(&random, [rows, h])
        let slots = be.intTensor([t * k], rowOfSlot), weight = be.tensor([t * k], random.floats(t * k))
        let dDst = be.tensor([t, h], random.floats(t * h)), dSrc0 = random.floats(rows * h), dWeight0 = random.floats(t * k)
        // fp32 dSrc, added to and overwritten; then the model's case, a bf16 dSrc (written).
        for (dtype, overwrite) in [(DType.float32, false), (.float32, true), (.bfloat16, false)] {
            func run(_ src: Tensor) -> (dSrc: [UInt32], dWeight: [UInt32]) {
                let dSrc = be.converted(be.tensor([rows, h], dSrc0), to: dtype), dWeight = be.tensor([t * k], dWeight0)
                be.unpermuteBackward(dDst: dDst, src: src, rowOfSlot: slots, weight: weight, topK: k, dSrc: dSrc, dWeight: dWeight,
                                     overwriteDSrc: overwrite)
                return (bits(dSrc), bits(dWeight))
            }
            let (got, want) = (run(src16), run(wide))
            #expect(got.dSrc == want.dSrc, "dSrc \(dtype), overwrite \(overwrite)")
            #expect(got.dWeight == want.dWeight, "dWeight, dSrc \(dtype), overwrite \(overwrite)")
        }
    }

    /// bf16 `out`: the fp32 result (product, then bias) rounded once by `convert`; rows outside the
    /// segments (0 and 8 here) stay as they were. bf16 and fp32 operands, with and without a bias.
    @Test(arguments: [DType.bfloat16, .float32], [true, false])
    func groupedLinearForwardIntoBF16IsTheFP32ResultConverted(operands: DType, bias: Bool) {
        var random = TestRandom(seed: 93)
        let (i, o, outRows) = (7, 6, 9)
        let offsets = [1, 4, 4], counts = [3, 0, 4]
        let g = counts.count
        let x = be.converted(be.tensor([outRows, i], random.floats(outRows * i, scale: 2)), to: operands)
        let w = be.converted(be.tensor([g, i, o], random.floats(g * i * o)), to: operands)
        let b = bias ? be.tensor([g, o], random.floats(g * o, scale: 4)) : nil
        let before = be.converted(be.tensor([outRows, o], random.floats(outRows * o, scale: 9)), to: .bfloat16)
        let out16 = be.makeTensor([outRows, o], dtype: .bfloat16)
        be.copy(from: before, to: out16)
        be.groupedLinearForward(x: x, w: w, b: b, rowOffsets: offsets, rowCounts: counts, out: out16)
        let out32 = be.converted(before, to: .float32)
        be.groupedLinearForward(x: x, w: w, b: b, rowOffsets: offsets, rowCounts: counts, out: out32)
        let (got, want, untouched) = (bits(out16), bits(be.converted(out32, to: .bfloat16)), bits(before))
        #expect(got == want)
        let outside = Array(0..<o) + Array((8 * o)..<(9 * o))
        #expect(outside.map { got[$0] } == outside.map { untouched[$0] })
        // The rounding happened: some value is not an fp32 sum that fits bf16 already.
        #expect(bits(out32) != want)
    }
}
