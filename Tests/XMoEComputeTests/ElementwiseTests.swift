import Testing
@testable import XMoECompute

@Suite struct ElementwiseTests {
    let backend = CPUBackend()

    @Test func addScaleAxpy() {
        var random = TestRandom(seed: 30)
        let a = random.floats(10), b = random.floats(10)
        let (aT, bT, out) = (backend.tensor([2, 5], a), backend.tensor([2, 5], b), backend.makeTensor([2, 5]))
        backend.add(aT, bT, out: out)
        expectClose(backend.downloadFloats(out), zip(a, b).map { Double($0) + Double($1) }, atol: 1e-6, rtol: 1e-6, "add")
        backend.scale(aT, by: -2.5)
        expectClose(backend.downloadFloats(aT), a.map { Double($0) * -2.5 }, atol: 1e-6, rtol: 1e-6, "scale")
        backend.axpy(alpha: 0.5, x: bT, y: out)
        expectClose(backend.downloadFloats(out), zip(a, b).map { Double($0) + 1.5 * Double($1) }, atol: 1e-6, rtol: 1e-6, "axpy")
    }

    @Test func addBiasAndSumRowsTouchOnlyTheirRows() {
        var random = TestRandom(seed: 31)
        let (rows, cols) = (5, 3)
        let x = random.floats(rows * cols), bias = random.floats(2 * cols), acc = random.floats(2 * cols)
        let xT = backend.tensor([rows, cols], x)
        backend.addBias(xT, bias: backend.tensor([2, cols], bias), biasOffset: cols, rows: 1..<4)
        var expected = x.doubles
        for r in 1..<4 { for c in 0..<cols { expected[r * cols + c] += Double(bias[cols + c]) } }
        expectClose(backend.downloadFloats(xT), expected, atol: 1e-6, rtol: 1e-6, "addBias")

        let out = backend.tensor([2, cols], acc)
        backend.sumRows(backend.tensor([rows, cols], x), rows: 2..<5, into: out, outOffset: cols)
        var sums = acc.doubles
        for r in 2..<5 { for c in 0..<cols { sums[cols + c] += Double(x[r * cols + c]) } }
        expectClose(backend.downloadFloats(out), sums, atol: 1e-6, rtol: 1e-6, "sumRows")
    }

    /// Segments out of order, one empty, one of a single row; rows outside every segment untouched.
    @Test func segmentedBiasAndSumsFollowEachSegmentsOwnBias() {
        var random = TestRandom(seed: 32)
        let (rows, cols) = (12, 5)
        let offsets = [7, 0, 3, 4], counts = [4, 3, 0, 1]
        let x = random.floats(rows * cols), bias = random.floats(4 * cols), acc = random.floats(4 * cols)
        let xT = backend.tensor([rows, cols], x)
        backend.addSegmentBias(xT, bias: backend.tensor([4, cols], bias), rowOffsets: offsets, rowCounts: counts)
        var expected = x.doubles
        for g in 0..<4 {
            for r in offsets[g]..<(offsets[g] + counts[g]) { for c in 0..<cols { expected[r * cols + c] += Double(bias[g * cols + c]) } }
        }
        expectClose(backend.downloadFloats(xT), expected, atol: 1e-6, rtol: 1e-6, "addSegmentBias")

        let out = backend.tensor([4, cols], acc)
        backend.sumRowSegments(backend.tensor([rows, cols], x), rowOffsets: offsets, rowCounts: counts, into: out)
        var sums = acc.doubles
        for g in 0..<4 {
            for r in offsets[g]..<(offsets[g] + counts[g]) { for c in 0..<cols { sums[g * cols + c] += Double(x[r * cols + c]) } }
        }
        expectClose(backend.downloadFloats(out), sums, atol: 1e-6, rtol: 1e-6, "sumRowSegments")
    }
}
