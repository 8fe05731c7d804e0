import XMoECompute
import XMoEComputeCUDA

/// `groupedLinearForward` into a bf16 output (the experts' second GEMM where the unpermute reads its
/// rows): the CUDA backend adds the bias and rounds in the kernel's epilogue, which must give the
/// same bits as the unfused path (fp32 product, bias pass, convert), and match the CPU backend
/// (fp32 sums rounded once) to bf16 rounding. With and without a bias; X-MoE Small's hidden 2048.
func groupedLinearBF16Checks(gpu: CUDABackend, cpu: CPUBackend, random: inout CheckRandom, say: (String) -> Void) -> [String] {
    var failures: [String] = []
    for (counts, k, n) in [([0, 7, 1, 0, 20], 72, 40), ([300, 0, 129, 77], 1408, 2048)] {
        let rows = counts.reduce(0, +), e = counts.count
        let offsets = counts.indices.map { counts[..<$0].reduce(0, +) }
        let values = (x: (0..<rows * k).map { _ in Float(random.normal()) }, w: (0..<e * k * n).map { _ in Float(random.normal()) },
                      b: (0..<e * n).map { _ in Float(random.normal()) })
        for bias in [true, false] {
            func run(_ be: Backend, unfused: Bool = false) -> [Float] {
                let x = be.makeTensor([rows, k]), w = be.makeTensor([e, k, n]), b = be.makeTensor([e, n])
                be.upload(values.x, to: x); be.upload(values.w, to: w); be.upload(values.b, to: b)
                let (x16, w16) = (be.converted(x, to: .bfloat16), be.converted(w, to: .bfloat16))
                let out16 = be.makeOutput([rows, n], dtype: .bfloat16), out = be.makeTensor([rows, n])
                if unfused {
                    be.groupedLinearForwardUnfused(x: x16, w: w16, b: bias ? b : nil, rowOffsets: offsets, rowCounts: counts, out: out16)
                } else {
                    be.groupedLinearForward(x: x16, w: w16, b: bias ? b : nil, rowOffsets: offsets, rowCounts: counts, out: out16)
                }
                be.convert(out16, to: out)
                return be.downloadFloats(out)
            }
            let (fused, unfused, reference) = (run(gpu), run(gpu, unfused: true), run(cpu))
            let error = relativeError(.floats(fused), .floats(reference))
            let same = zip(fused, unfused).allSatisfy { $0.bitPattern == $1.bitPattern }
            let ok = error <= bf16Tolerance && same
            let name = "groupedLinearForward into bf16\(bias ? ", bias" : "") counts \(counts) k\(k) n\(n)"
            say("\(ok ? "ok  " : "FAIL") \(name.padding(toLength: 62, withPad: " ", startingAt: 0)) rel err \(format(error)) (≤ \(format(bf16Tolerance)))"
                + (same ? ", bit-identical to the unfused path" : ", NOT bit-identical to the unfused path"))
            if !ok { failures.append(name) }
        }
    }
    return failures
}
