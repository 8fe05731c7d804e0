import XMoECompute
import XMoEComputeCUDA

/// The stated bf16 threshold: outputs rounded to bf16 (8 bits of mantissa) differ from an fp32
/// product of the same bf16 inputs by about 2⁻⁹ relative per element.
let bf16Tolerance = 1e-2

/// bf16 GEMMs (cublasGemmEx, cublasGemmGroupedBatchedEx) against the CPU's fp32 product of the
/// same bf16-rounded inputs; also prints the error against the unrounded fp32 product (what bf16
/// storage costs). Returns the names of failed checks.
func bf16Checks(gpu: CUDABackend, cpu: CPUBackend, random: inout CheckRandom, say: (String) -> Void) -> [String] {
    var failures: [String] = []
    func randomFloats(_ n: Int) -> [Float] { (0..<n).map { _ in Float(random.normal()) } }
    func toBF16(_ values: [Float]) -> BF16Buffer {
        let t = gpu.makeTensor([values.count]), b = gpu.makeBF16(count: values.count)
        gpu.upload(values, to: t)
        gpu.convert(t, to: b)
        return b
    }
    func download(_ b: BF16Buffer) -> [Float] {
        let t = gpu.makeTensor([b.count])
        gpu.convert(b, to: t)
        return gpu.downloadFloats(t)
    }
    func cpuTensor(_ values: [Float]) -> Tensor {
        let t = cpu.makeTensor([values.count])
        cpu.upload(values, to: t)
        return t
    }
    func report(_ name: String, _ got: [Float], rounded: [Float], full: [Float]) {
        let error = relativeError(.floats(got), .floats(rounded)), cost = relativeError(.floats(got), .floats(full))
        let ok = error <= bf16Tolerance
        say("\(ok ? "ok  " : "FAIL") \(name.padding(toLength: 62, withPad: " ", startingAt: 0)) rel err \(format(error)) (≤ \(format(bf16Tolerance)))"
            + "  [vs fp32 inputs: \(format(cost))]")
        if !ok { failures.append(name) }
    }

    guard gpu.hasBF16Gemm else {
        say("FAIL bf16 GEMM: this cuBLAS has no cublasGemmEx")
        return ["bf16 gemm"]
    }
    for (m, n, k, ta, tb) in [(1, 1, 1, false, false), (300, 257, 129, false, false), (129, 300, 257, true, false), (64, 96, 130, false, true)] {
        let a = randomFloats(m * k), b = randomFloats(k * n), c = randomFloats(m * n)
        let (lda, ldb) = (ta ? m : k, tb ? k : n)
        let ga = toBF16(a), gb = toBF16(b), gc = toBF16(c)
        gpu.gemmBF16(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 1, a: ga, lda: lda, b: gb, ldb: ldb, beta: 0.5, c: gc, ldc: n)
        var references: [[Float]] = []
        for round in [true, false] {
            let f = round ? roundToBFloat16 : { $0 }
            let ca = cpuTensor(a.map(f)), cb = cpuTensor(b.map(f)), cc = cpuTensor(c.map(f))
            cpu.gemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 1, a: ca, aOffset: 0, lda: lda, b: cb, bOffset: 0, ldb: ldb,
                     beta: 0.5, c: cc, cOffset: 0, ldc: n)
            references.append(cpu.downloadFloats(cc))
        }
        report("bf16 gemm \(ta ? "T" : "N")\(tb ? "T" : "N") m\(m) n\(n) k\(k)", download(gc), rounded: references[0], full: references[1])
    }
    guard gpu.hasBF16GroupedGemm else {
        say("FAIL bf16 grouped GEMM: this cuBLAS has no cublasGemmGroupedBatchedEx")
        return failures + ["bf16 grouped gemm"]
    }
    for (counts, transB) in [([0, 7, 1, 0, 20], false), ([130, 0, 257], true), ([0, 0, 1], false)] {
        let (k, n) = (72, 40)
        let rows = counts.reduce(0, +), offsets = counts.indices.map { counts[..<$0].reduce(0, +) }
        let a = randomFloats(rows * k), w = randomFloats(counts.count * k * n)
        let ga = toBF16(a), gw = toBF16(w), gc = gpu.makeBF16(count: rows * n)
        gpu.groupedGemmBF16(transB: transB, k: k, n: n, a: ga, w: gw, beta: 0, c: gc, rowOffsets: offsets, rowCounts: counts)
        var references: [[Float]] = []
        for round in [true, false] {
            let f = round ? roundToBFloat16 : { $0 }
            let ca = cpu.makeTensor([rows, k]), cw = cpu.makeTensor([counts.count, k, n]), cc = cpu.makeTensor([rows, n])
            cpu.upload(a.map(f), to: ca)
            cpu.upload(w.map(f), to: cw)
            cpu.groupedGemm(transB: transB, k: k, n: n, alpha: 1, a: ca, w: cw, beta: 0, c: cc, rowOffsets: offsets, rowCounts: counts)
            references.append(cpu.downloadFloats(cc))
        }
        report("bf16 groupedGemm\(transB ? " transB" : "") counts \(counts) k\(k) n\(n)", download(gc), rounded: references[0], full: references[1])
    }
    return failures
}
