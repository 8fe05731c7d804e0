import Foundation
import Testing
@testable import XMoECompute

func referenceSoftmax(_ x: [Double], cols: Int) -> [Double] {
    var out = x
    for r in 0..<(x.count / cols) {
        let row = x[(r * cols)..<((r + 1) * cols)]
        let m = row.max()!
        let total = row.reduce(0) { $0 + exp($1 - m) }
        for j in 0..<cols { out[r * cols + j] = exp(x[r * cols + j] - m) / total }
    }
    return out
}

func referenceLayerNorm(_ x: [Double], weight: [Double], bias: [Double], eps: Double) -> [Double] {
    let h = weight.count
    var out = x
    for r in 0..<(x.count / h) {
        let row = Array(x[(r * h)..<((r + 1) * h)])
        let mean = row.reduce(0, +) / Double(h)
        let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(h)
        for i in 0..<h { out[r * h + i] = (row[i] - mean) / (variance + eps).squareRoot() * weight[i] + bias[i] }
    }
    return out
}

func referenceRMSNorm(_ x: [Double], weight: [Double], eps: Double) -> [Double] {
    let h = weight.count
    var out = x
    for r in 0..<(x.count / h) {
        let meanSquare = x[(r * h)..<((r + 1) * h)].reduce(0) { $0 + $1 * $1 } / Double(h)
        for i in 0..<h { out[r * h + i] = x[r * h + i] / (meanSquare + eps).squareRoot() * weight[i] }
    }
    return out
}

@Suite struct NormalizationTests {
    let backend = CPUBackend()

    @Test func softmax() {
        var random = TestRandom(seed: 40)
        let (rows, cols) = (3, 5)
        let x = random.floats(rows * cols, scale: 4), up = random.floats(rows * cols)
        let probs = backend.makeTensor([rows, cols]), dX = backend.makeTensor([rows, cols])
        backend.softmaxForward(logits: backend.tensor([rows, cols], x), probs: probs)
        expectClose(backend.downloadFloats(probs), referenceSoftmax(x.doubles, cols: cols), atol: 1e-6, rtol: 1e-5, "softmax")
        backend.softmaxBackward(probs: probs, dProbs: backend.tensor([rows, cols], up), dLogits: dX)
        expectClose(backend.downloadFloats(dX), numericalGradient(of: { referenceSoftmax($0, cols: cols) }, at: x.doubles, upstream: up.doubles),
                    atol: gradATol, rtol: gradRTol, "softmax dLogits")
    }

    @Test func layerNorm() {
        var random = TestRandom(seed: 41)
        let (t, h) = (3, 6)
        let x = random.floats(t * h, scale: 2), w = random.floats(h), b = random.floats(h), up = random.floats(t * h)
        let (xT, wT, bT) = (backend.tensor([t, h], x), backend.tensor([h], w), backend.tensor([h], b))
        let (out, mean, rstd) = (backend.makeTensor([t, h]), backend.makeTensor([t]), backend.makeTensor([t]))
        backend.layerNormForward(x: xT, weight: wT, bias: bT, eps: 1e-5, out: out, mean: mean, rstd: rstd)
        let f = { (x: [Double], w: [Double], b: [Double]) in referenceLayerNorm(x, weight: w, bias: b, eps: 1e-5) }
        expectClose(backend.downloadFloats(out), f(x.doubles, w.doubles, b.doubles), atol: 1e-5, rtol: 1e-5, "layerNorm")

        let (dX, dW, dB) = (backend.makeTensor([t, h]), backend.makeTensor([h]), backend.makeTensor([h]))
        backend.layerNormBackward(dOut: backend.tensor([t, h], up), x: xT, weight: wT, mean: mean, rstd: rstd, dX: dX, dWeight: dW, dBias: dB)
        let u = up.doubles
        expectClose(backend.downloadFloats(dX), numericalGradient(of: { f($0, w.doubles, b.doubles) }, at: x.doubles, upstream: u),
                    atol: gradATol, rtol: gradRTol, "layerNorm dX")
        expectClose(backend.downloadFloats(dW), numericalGradient(of: { f(x.doubles, $0, b.doubles) }, at: w.doubles, upstream: u),
                    atol: gradATol, rtol: gradRTol, "layerNorm dWeight")
        expectClose(backend.downloadFloats(dB), numericalGradient(of: { f(x.doubles, w.doubles, $0) }, at: b.doubles, upstream: u),
                    atol: gradATol, rtol: gradRTol, "layerNorm dBias")
    }

    @Test func rmsNorm() {
        var random = TestRandom(seed: 42)
        let (t, h) = (3, 6)
        let x = random.floats(t * h, scale: 2), w = random.floats(h), up = random.floats(t * h)
        let (xT, wT) = (backend.tensor([t, h], x), backend.tensor([h], w))
        let (out, rstd) = (backend.makeTensor([t, h]), backend.makeTensor([t]))
        backend.rmsNormForward(x: xT, weight: wT, eps: 1e-6, out: out, rstd: rstd)
        let f = { (x: [Double], w: [Double]) in referenceRMSNorm(x, weight: w, eps: 1e-6) }
        expectClose(backend.downloadFloats(out), f(x.doubles, w.doubles), atol: 1e-5, rtol: 1e-5, "rmsNorm")

        let (dX, dW) = (backend.makeTensor([t, h]), backend.makeTensor([h]))
        backend.rmsNormBackward(dOut: backend.tensor([t, h], up), x: xT, weight: wT, rstd: rstd, dX: dX, dWeight: dW)
        expectClose(backend.downloadFloats(dX), numericalGradient(of: { f($0, w.doubles) }, at: x.doubles, upstream: up.doubles),
                    atol: gradATol, rtol: gradRTol, "rmsNorm dX")
        expectClose(backend.downloadFloats(dW), numericalGradient(of: { f(x.doubles, $0) }, at: w.doubles, upstream: up.doubles),
                    atol: gradATol, rtol: gradRTol, "rmsNorm dWeight")
    }
}
