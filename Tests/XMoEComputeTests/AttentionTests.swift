import Foundation
import Testing
@testable import XMoECompute

/// RoPE on q and k of qkv_T3H in float64: pairs (i, i + D/2) rotated by pos · theta^(−2i/D).
func referenceRope(_ qkv: [Double], heads: Int, seqLen: Int, theta: Double, hidden h: Int) -> [Double] {
    let d = h / heads, half = d / 2
    var out = qkv
    for t in 0..<(qkv.count / (3 * h)) {
        let pos = Double(t % seqLen)
        for part in 0..<2 {
            for n in 0..<heads {
                for i in 0..<half {
                    let a = t * 3 * h + part * h + n * d + i, b = a + half
                    let angle = pos / pow(theta, Double(2 * i) / Double(d))
                    out[a] = qkv[a] * cos(angle) - qkv[b] * sin(angle)
                    out[b] = qkv[a] * sin(angle) + qkv[b] * cos(angle)
                }
            }
        }
    }
    return out
}

/// Causal multi-head attention in float64, straight from the definition.
func referenceAttention(_ qkv: [Double], heads: Int, seqLen s: Int, hidden h: Int) -> [Double] {
    let d = h / heads, tokens = qkv.count / (3 * h)
    var out = [Double](repeating: 0, count: tokens * h)
    for seq in 0..<(tokens / s) {
        for n in 0..<heads {
            for i in 0..<s {
                let qi = (seq * s + i) * 3 * h + n * d
                var scores = [Double]()
                for j in 0...i {
                    let kj = (seq * s + j) * 3 * h + h + n * d
                    scores.append((0..<d).reduce(0) { $0 + qkv[qi + $1] * qkv[kj + $1] } / Double(d).squareRoot())
                }
                let m = scores.max()!
                let weights = scores.map { exp($0 - m) }
                let total = weights.reduce(0, +)
                for j in 0...i {
                    let vj = (seq * s + j) * 3 * h + 2 * h + n * d
                    for c in 0..<d { out[(seq * s + i) * h + n * d + c] += weights[j] / total * qkv[vj + c] }
                }
            }
        }
    }
    return out
}

@Suite struct AttentionTests {
    let backend = CPUBackend()
    let heads = 2, seqLen = 3, headDim = 4, batch = 2
    var h: Int { heads * headDim }
    var t: Int { batch * seqLen }

    @Test func ropeForwardAndBackward() {
        var random = TestRandom(seed: 50)
        let x = random.floats(t * 3 * h), up = random.floats(t * 3 * h)
        let xT = backend.tensor([t, 3 * h], x), out = backend.makeTensor([t, 3 * h])
        backend.ropeForward(qkv: xT, heads: heads, seqLen: seqLen, theta: 100, out: out)
        let f = { (x: [Double]) in referenceRope(x, heads: heads, seqLen: seqLen, theta: 100, hidden: h) }
        expectClose(backend.downloadFloats(out), f(x.doubles), atol: 1e-6, rtol: 1e-5, "rope")
        backend.ropeForward(qkv: xT, heads: heads, seqLen: seqLen, theta: 100, out: xT)
        #expect(backend.downloadFloats(xT) == backend.downloadFloats(out), "in-place rope differs from out-of-place")

        let dX = backend.makeTensor([t, 3 * h])
        backend.ropeBackward(dOut: backend.tensor([t, 3 * h], up), heads: heads, seqLen: seqLen, theta: 100, dQkv: dX)
        expectClose(backend.downloadFloats(dX), numericalGradient(of: f, at: x.doubles, upstream: up.doubles),
                    atol: gradATol, rtol: gradRTol, "rope dQkv")
    }

    @Test func causalAttentionForwardAndBackward() {
        var random = TestRandom(seed: 51)
        let qkv = random.floats(t * 3 * h, scale: 1.5), up = random.floats(t * h)
        let qkvT = backend.tensor([t, 3 * h], qkv)
        let out = backend.makeTensor([t, h]), probs = backend.makeTensor([batch * heads, seqLen, seqLen])
        backend.attentionForward(qkv: qkvT, heads: heads, seqLen: seqLen, out: out, probs: probs)
        let f = { (x: [Double]) in referenceAttention(x, heads: heads, seqLen: seqLen, hidden: h) }
        expectClose(backend.downloadFloats(out), f(qkv.doubles), atol: 1e-5, rtol: 1e-5, "attention out")
        let p = backend.downloadFloats(probs)
        for row in 0..<(batch * heads * seqLen) {
            let i = row % seqLen
            #expect(p[(row * seqLen + i + 1)..<((row + 1) * seqLen)].allSatisfy { $0 == 0 }, "probs above the diagonal")
        }

        let dQkv = backend.makeTensor([t, 3 * h])
        backend.attentionBackward(dOut: backend.tensor([t, h], up), qkv: qkvT, probs: probs, heads: heads, seqLen: seqLen, dQkv: dQkv)
        expectClose(backend.downloadFloats(dQkv), numericalGradient(of: f, at: qkv.doubles, upstream: up.doubles),
                    atol: gradATol, rtol: gradRTol, "attention dQkv")
    }
}
