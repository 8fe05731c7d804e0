import Testing
@testable import XMoECompute

/// y[r, o] = Σ_i x[r, i] w[i, o] + b[o] in float64, rows r in `rows` only, w and b at given offsets.
func referenceLinear(
    x: [Double], w: [Double], b: [Double]?, inWidth: Int, outWidth: Int, rows: Range<Int>,
    wOffset: Int = 0, bOffset: Int = 0, into y: inout [Double]
) {
    for r in rows {
        for o in 0..<outWidth {
            var sum = b.map { $0[bOffset + o] } ?? 0
            for i in 0..<inWidth { sum += x[r * inWidth + i] * w[wOffset + i * outWidth + o] }
            y[r * outWidth + o] = sum
        }
    }
}

@Suite struct LinearTests {
    let backend = CPUBackend()

    @Test func linearForwardAndGradients() {
        var random = TestRandom(seed: 10)
        let (t, i, o) = (4, 3, 5)
        let (x, w, b, up) = (random.floats(t * i), random.floats(i * o), random.floats(o), random.floats(t * o))
        func forward(_ x: [Double], _ w: [Double], _ b: [Double]) -> [Double] {
            var y = [Double](repeating: 0, count: t * o)
            referenceLinear(x: x, w: w, b: b, inWidth: i, outWidth: o, rows: 0..<t, into: &y)
            return y
        }
        let (xT, wT, bT) = (backend.tensor([t, i], x), backend.tensor([i, o], w), backend.tensor([o], b))
        let out = backend.makeTensor([t, o])
        backend.linearForward(x: xT, w: wT, b: bT, out: out)
        expectClose(backend.downloadFloats(out), forward(x.doubles, w.doubles, b.doubles), atol: 1e-5, rtol: 1e-5, "linear out")

        let (dX, dW, dB) = (backend.makeTensor([t, i]), backend.makeTensor([i, o]), backend.makeTensor([o]))
        backend.linearBackward(x: xT, w: wT, dOut: backend.tensor([t, o], up), dX: dX, dW: dW, dB: dB)
        let u = up.doubles
        expectClose(backend.downloadFloats(dX), numericalGradient(of: { forward($0, w.doubles, b.doubles) }, at: x.doubles, upstream: u),
                    atol: gradATol, rtol: gradRTol, "linear dX")
        expectClose(backend.downloadFloats(dW), numericalGradient(of: { forward(x.doubles, $0, b.doubles) }, at: w.doubles, upstream: u),
                    atol: gradATol, rtol: gradRTol, "linear dW")
        expectClose(backend.downloadFloats(dB), numericalGradient(of: { forward(x.doubles, w.doubles, $0) }, at: b.doubles, upstream: u),
                    atol: gradATol, rtol: gradRTol, "linear dB")
    }

    @Test func groupedLinearForwardAndGradients() {
        var random = TestRandom(seed: 11)
        let (i, o) = (3, 2)
        let offsets = [0, 3, 3], counts = [3, 0, 2]
        let rows = 5
        let g = counts.count
        let (x, w, b, up) = (random.floats(rows * i), random.floats(g * i * o), random.floats(g * o), random.floats(rows * o))
        func forward(_ x: [Double], _ w: [Double], _ b: [Double]) -> [Double] {
            var y = [Double](repeating: 0, count: rows * o)
            for s in 0..<g {
                referenceLinear(x: x, w: w, b: b, inWidth: i, outWidth: o, rows: offsets[s]..<(offsets[s] + counts[s]),
                                wOffset: s * i * o, bOffset: s * o, into: &y)
            }
            return y
        }
        let (xT, wT, bT) = (backend.tensor([rows, i], x), backend.tensor([g, i, o], w), backend.tensor([g, o], b))
        let out = backend.makeTensor([rows, o])
        backend.groupedLinearForward(x: xT, w: wT, b: bT, rowOffsets: offsets, rowCounts: counts, out: out)
        expectClose(backend.downloadFloats(out), forward(x.doubles, w.doubles, b.doubles), atol: 1e-5, rtol: 1e-5, "grouped out")

        let (dX, dW, dB) = (backend.makeTensor([rows, i]), backend.makeTensor([g, i, o]), backend.makeTensor([g, o]))
        backend.groupedLinearBackward(x: xT, w: wT, dOut: backend.tensor([rows, o], up), rowOffsets: offsets, rowCounts: counts,
                                      dX: dX, dW: dW, dB: dB)
        let u = up.doubles
        expectClose(backend.downloadFloats(dX), numericalGradient(of: { forward($0, w.doubles, b.doubles) }, at: x.doubles, upstream: u),
                    atol: gradATol, rtol: gradRTol, "grouped dX")
        expectClose(backend.downloadFloats(dW), numericalGradient(of: { forward(x.doubles, $0, b.doubles) }, at: w.doubles, upstream: u),
                    atol: gradATol, rtol: gradRTol, "grouped dW")
        expectClose(backend.downloadFloats(dB), numericalGradient(of: { forward(x.doubles, w.doubles, $0) }, at: b.doubles, upstream: u),
                    atol: gradATol, rtol: gradRTol, "grouped dB")
    }
}
