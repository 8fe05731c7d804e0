import XMoECompute

/// The stated tolerance of the bf16-operand GEMM family (bf16 A and B, fp32 C) against the
/// bf16-emulating CPU backend: both multiply the same bf16 values exactly and accumulate in fp32,
/// so only the summation order differs — ~k·2⁻²⁴ relative in the worst case, ~1e-6 in practice.
let bf16OperandTolerance = 1e-4

/// bfloat16 tensors on the device backend against CPUBackend(computeDType: .bfloat16): `convert`
/// both ways (must be bit-identical: both round to nearest even), upload/download, and gemm,
/// batchedGemm, groupedGemm, groupedGemmWeightGrad with bf16 operands and fp32 outputs, each run
/// twice on the device (bit-identical). Returns the names of failed checks.
func bf16TensorChecks(device: Backend, random: inout CheckRandom, say: (String) -> Void) -> [String] {
    let cpu = CPUBackend(threads: 2, computeDType: .bfloat16)
    var failures: [String] = []
    func randomFloats(_ n: Int) -> [Float] { (0..<n).map { _ in Float(random.normal()) } }
    func tensor(_ backend: Backend, _ values: [Float], _ shape: [Int], _ dtype: DType) -> Tensor {
        let t = backend.makeTensor(shape, dtype: dtype)
        backend.upload(values, to: t)
        return t
    }
    func report(_ name: String, _ error: Double, tolerance: Double, identical: Bool) {
        let ok = error <= tolerance && identical
        say("\(ok ? "ok  " : "FAIL") \(name.padding(toLength: 62, withPad: " ", startingAt: 0)) rel err \(format(error)) (≤ \(format(tolerance)))"
            + (identical ? "" : ", NOT bit-identical"))
        if !ok { failures.append(name) }
    }

    // convert: every special case plus random values, both directions, bit for bit.
    var values = randomFloats(100_003).map { $0 * 1000 }
    values += [.nan, -.nan, .infinity, -.infinity, 0, -0.0, .greatestFiniteMagnitude, Float(bitPattern: 0x7f7f_8000),
               Float(bitPattern: 0x0001_8000), Float(bitPattern: 0x0000_8000), 1.00390625, 1.01171875, Float(bitPattern: 0x7f80_0001)]
    let n = values.count
    let (dx, cx) = (tensor(device, values, [n], .float32), tensor(cpu, values, [n], .float32))
    let (dy, cy) = (device.makeTensor([n], dtype: .bfloat16), cpu.makeTensor([n], dtype: .bfloat16))
    device.convert(dx, to: dy)
    cpu.convert(cx, to: cy)
    let (dBack, cBack) = (device.makeTensor([n]), cpu.makeTensor([n]))
    device.convert(dy, to: dBack)
    cpu.convert(cy, to: cBack)
    let uploaded = tensor(device, values, [n], .bfloat16)
    let (gotDown, wantDown) = (device.downloadFloats(dBack), cpu.downloadFloats(cBack))
    let gotUploaded = device.downloadFloats(uploaded)
    let sameBits = zip(gotDown, wantDown).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
        && zip(gotUploaded, wantDown).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
    say("\(sameBits ? "ok  " : "FAIL") convert float32 → bfloat16 → float32 and bf16 upload/download, \(n) values: "
        + (sameBits ? "bit-identical to the CPU" : "DIFFER from the CPU"))
    if !sameBits { failures.append("bf16 convert") }

    // gemm and batchedGemm (bf16 operands, fp32 C with beta ≠ 0, offsets and padded leading dimensions).
    for (m, n, k, ta, tb, batch) in [(1, 1, 1, false, false, 1), (300, 257, 129, false, false, 1), (129, 300, 257, true, false, 1),
                                     (64, 96, 130, false, true, 1), (33, 17, 65, true, true, 1), (64, 64, 32, false, true, 6)] {
        let (lda, ldb, ldc) = ((ta ? m : k) + 3, (tb ? k : n) + 1, n + 2)
        let (sa, sb, sc) = ((ta ? k : m) * lda + 5, (tb ? n : k) * ldb + 7, m * ldc)
        let a = randomFloats(2 + batch * sa), b = randomFloats(1 + batch * sb), c = randomFloats(batch * sc)
        func run(_ backend: Backend) -> [Float] {
            let (ta16, tb16, tc) = (tensor(backend, a, [a.count], .bfloat16), tensor(backend, b, [b.count], .bfloat16),
                                    tensor(backend, c, [c.count], .float32))
            if batch == 1 {
                backend.gemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.75, a: ta16, aOffset: 2, lda: lda,
                             b: tb16, bOffset: 1, ldb: ldb, beta: 0.5, c: tc, cOffset: 0, ldc: ldc)
            } else {
                backend.batchedGemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.75, a: ta16, aOffset: 2, lda: lda, strideA: sa,
                                    b: tb16, bOffset: 1, ldb: ldb, strideB: sb, beta: 0.5, c: tc, cOffset: 0, ldc: ldc,
                                    strideC: sc, batchCount: batch)
            }
            return backend.downloadFloats(tc)
        }
        let (got, again, want) = (run(device), run(device), run(cpu))
        let name = "bf16 \(batch > 1 ? "batchedGemm ×\(batch)" : "gemm") \(ta ? "T" : "N")\(tb ? "T" : "N") m\(m) n\(n) k\(k)"
        report(name, relativeError(.floats(got), .floats(want)), tolerance: bf16OperandTolerance, identical: got == again)
    }

    // groupedGemm (both transB) and groupedGemmWeightGrad, with empty experts.
    for (counts, transB) in [([0, 7, 1, 0, 20], false), ([130, 0, 257], true), ([0, 0, 1], false), ([64, 64, 64, 64], false)] {
        let (k, nn) = (72, 40)
        let rows = counts.reduce(0, +), offsets = counts.indices.map { counts[..<$0].reduce(0, +) }
        let a = randomFloats(rows * k), w = randomFloats(counts.count * k * nn), c = randomFloats(rows * nn)
        let dC = randomFloats(rows * nn), dW0 = randomFloats(counts.count * k * nn)
        func run(_ backend: Backend) -> (y: [Float], dW: [Float]) {
            let ta = tensor(backend, a, [rows, k], .bfloat16), tw = tensor(backend, w, [counts.count, k, nn], .bfloat16)
            let tdC = tensor(backend, dC, [rows, nn], .bfloat16)
            let y: [Float]
            if transB {
                // The experts' input gradient: out_XK += dC_XN · w_gᵀ (w_g is k×nn).
                let out = tensor(backend, a, [rows, k], .float32)
                backend.groupedGemm(transB: true, k: nn, n: k, alpha: 1, a: tdC, w: tw, beta: 1, c: out,
                                    rowOffsets: offsets, rowCounts: counts)
                y = backend.downloadFloats(out)
            } else {
                let tc = tensor(backend, c, [rows, nn], .float32)
                backend.groupedGemm(transB: false, k: k, n: nn, alpha: 1, a: ta, w: tw, beta: 0.5, c: tc,
                                    rowOffsets: offsets, rowCounts: counts)
                y = backend.downloadFloats(tc)
            }
            let tdW = tensor(backend, dW0, [counts.count, k, nn], .float32)
            backend.groupedGemmWeightGrad(k: k, n: nn, a: ta, dC: tdC, dW: tdW, rowOffsets: offsets, rowCounts: counts)
            return (y, backend.downloadFloats(tdW))
        }
        let (got, again, want) = (run(device), run(device), run(cpu))
        report("bf16 groupedGemm\(transB ? " transB" : "") counts \(counts)", relativeError(.floats(got.y), .floats(want.y)),
               tolerance: bf16OperandTolerance, identical: got.y == again.y)
        report("bf16 groupedGemmWeightGrad counts \(counts)", relativeError(.floats(got.dW), .floats(want.dW)),
               tolerance: bf16OperandTolerance, identical: got.dW == again.dW)
    }
    return failures
}
