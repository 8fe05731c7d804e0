import Foundation
import Testing
@testable import XMoECompute

/// Causal attention and its gradient in float64 with the probabilities materialised, straight from
/// the definition (an independent backward, checked itself against finite differences below):
/// P = softmax(q·kᵀ/√D) causal, O = P·v, dv = Pᵀ·dO, dS = P ⊙ (dO·vᵀ − rowsum(P ⊙ dO·vᵀ)) / √D,
/// dq = dS·k, dk = dSᵀ·q. Returns out, the row log-sum-exp per (sequence·head, row), and dQkv.
func referenceAttentionGradient(_ qkv: [Double], dOut: [Double], heads: Int, seqLen s: Int, hidden h: Int)
    -> (out: [Double], logSumExp: [Double], dQkv: [Double])
{
    let d = h / heads, tokens = qkv.count / (3 * h), scale = 1 / Double(d).squareRoot()
    var out = [Double](repeating: 0, count: tokens * h), dQkv = [Double](repeating: 0, count: qkv.count)
    var lse = [Double](repeating: 0, count: tokens / s * heads * s)
    for seq in 0..<(tokens / s) {
        for n in 0..<heads {
            func at(_ row: Int, _ part: Int) -> Int { (seq * s + row) * 3 * h + part * h + n * d }
            func outAt(_ row: Int) -> Int { (seq * s + row) * h + n * d }
            for i in 0..<s {
                let scores = (0...i).map { j in (0..<d).reduce(0.0) { $0 + qkv[at(i, 0) + $1] * qkv[at(j, 1) + $1] } * scale }
                let m = scores.max()!
                let total = scores.reduce(0.0) { $0 + exp($1 - m) }
                lse[(seq * heads + n) * s + i] = m + log(total)
                let p = scores.map { exp($0 - m) / total }
                for j in 0...i { for c in 0..<d { out[outAt(i) + c] += p[j] * qkv[at(j, 2) + c] } }
                let dp = (0...i).map { j in (0..<d).reduce(0.0) { $0 + dOut[outAt(i) + $1] * qkv[at(j, 2) + $1] } }
                let dot = zip(p, dp).reduce(0.0) { $0 + $1.0 * $1.1 }
                for j in 0...i {
                    let ds = p[j] * (dp[j] - dot) * scale
                    for c in 0..<d {
                        dQkv[at(j, 2) + c] += p[j] * dOut[outAt(i) + c]
                        dQkv[at(i, 0) + c] += ds * qkv[at(j, 1) + c]
                        dQkv[at(j, 1) + c] += ds * qkv[at(i, 0) + c]
                    }
                }
            }
        }
    }
    return (out, lse, dQkv)
}

@Suite struct FlashAttentionTests {
    let backend = CPUBackend(threads: 2)

    struct Shape: CustomStringConvertible {
        var batch: Int, heads: Int, seqLen: Int, headDim: Int
        var description: String { "B\(batch) N\(heads) S\(seqLen) D\(headDim)" }
    }

    /// Seq 1, seq 37 and 150 (not a multiple of any block: the CPU's 64-row blocks or the GPU's
    /// 8/16/32-row tiles), head widths 16, 64 and 128.
    static let shapes = [
        Shape(batch: 3, heads: 2, seqLen: 1, headDim: 16),
        Shape(batch: 2, heads: 3, seqLen: 37, headDim: 16),
        Shape(batch: 1, heads: 2, seqLen: 150, headDim: 16),
        Shape(batch: 2, heads: 1, seqLen: 70, headDim: 64),
        Shape(batch: 1, heads: 1, seqLen: 67, headDim: 128),
    ]

    @Test(arguments: shapes) func forwardAndBackwardMatchFloat64(_ shape: Shape) {
        let (h, t) = (shape.heads * shape.headDim, shape.batch * shape.seqLen)
        var random = TestRandom(seed: UInt64(100 + shape.seqLen + shape.headDim))
        let qkv = random.floats(t * 3 * h, scale: 1.5), up = random.floats(t * h)
        let reference = referenceAttentionGradient(qkv.doubles, dOut: up.doubles, heads: shape.heads, seqLen: shape.seqLen, hidden: h)

        let qkvT = backend.tensor([t, 3 * h], qkv), out = backend.makeTensor([t, h])
        let lse = backend.makeTensor([shape.batch * shape.heads, shape.seqLen])
        backend.flashAttentionForward(qkv: qkvT, heads: shape.heads, seqLen: shape.seqLen, out: out, logSumExp: lse)
        expectClose(backend.downloadFloats(out), reference.out, atol: 1e-5, rtol: 1e-4, "\(shape) out")
        expectClose(backend.downloadFloats(lse), reference.logSumExp, atol: 1e-5, rtol: 1e-5, "\(shape) logSumExp")

        // The backward adds: start from ones and expect ones + the gradient.
        let dQkv = backend.tensor([t, 3 * h], [Float](repeating: 1, count: t * 3 * h))
        backend.flashAttentionBackward(dOut: backend.tensor([t, h], up), qkv: qkvT, out: out, logSumExp: lse,
                                       heads: shape.heads, seqLen: shape.seqLen, dQkv: dQkv)
        expectClose(backend.downloadFloats(dQkv), reference.dQkv.map { $0 + 1 }, atol: 2e-5, rtol: 2e-4, "\(shape) dQkv")
    }

    /// The float64 reference backward itself, against finite differences of the float64 forward.
    @Test func referenceGradientMatchesFiniteDifferences() {
        let (heads, s, d, batch) = (2, 5, 4, 2)
        let h = heads * d
        var random = TestRandom(seed: 61)
        let qkv = random.floats(batch * s * 3 * h, scale: 1.5).doubles, up = random.floats(batch * s * h).doubles
        let analytic = referenceAttentionGradient(qkv, dOut: up, heads: heads, seqLen: s, hidden: h).dQkv
        let numeric = numericalGradient(of: { referenceAttention($0, heads: heads, seqLen: s, hidden: h) }, at: qkv, upstream: up)
        let worst = zip(analytic, numeric).map { abs($0 - $1) }.max() ?? .nan
        #expect(worst < 1e-6, "float64 attention backward differs from finite differences by \(worst)")
    }

    /// Flash and the materialised op compute the same function: equal within fp32 rounding.
    @Test func flashMatchesMaterialisedOp() {
        let (heads, s, d, batch) = (4, 100, 32, 2)
        let (h, t) = (heads * d, batch * s)
        var random = TestRandom(seed: 62)
        let qkvT = backend.tensor([t, 3 * h], random.floats(t * 3 * h, scale: 2)), dOut = backend.tensor([t, h], random.floats(t * h))
        let out = backend.makeTensor([t, h]), probs = backend.makeTensor([batch * heads, s, s])
        backend.attentionForward(qkv: qkvT, heads: heads, seqLen: s, out: out, probs: probs)
        let dQkv = backend.makeTensor([t, 3 * h])
        backend.attentionBackward(dOut: dOut, qkv: qkvT, probs: probs, heads: heads, seqLen: s, dQkv: dQkv)

        let flashOut = backend.makeTensor([t, h]), lse = backend.makeTensor([batch * heads, s])
        backend.flashAttentionForward(qkv: qkvT, heads: heads, seqLen: s, out: flashOut, logSumExp: lse)
        let flashDQkv = backend.makeTensor([t, 3 * h])
        backend.flashAttentionBackward(dOut: dOut, qkv: qkvT, out: flashOut, logSumExp: lse, heads: heads, seqLen: s, dQkv: flashDQkv)
        expectClose(backend.downloadFloats(flashOut), backend.downloadFloats(out).doubles, atol: 1e-6, rtol: 1e-5, "flash out vs materialised")
        expectClose(backend.downloadFloats(flashDQkv), backend.downloadFloats(dQkv).doubles, atol: 1e-5, rtol: 1e-4, "flash dQkv vs materialised")
    }

    /// One thread or three: bit-identical (each sequence·head runs start to end on one thread).
    @Test func resultsDoNotDependOnThreadCount() {
        let (heads, s, d, batch) = (3, 90, 16, 2)
        let (h, t) = (heads * d, batch * s)
        var random = TestRandom(seed: 63)
        let qkv = random.floats(t * 3 * h, scale: 2), up = random.floats(t * h)
        func run(_ cpu: CPUBackend) -> (out: [Float], dQkv: [Float]) {
            let qkvT = cpu.tensor([t, 3 * h], qkv), out = cpu.makeTensor([t, h]), lse = cpu.makeTensor([batch * heads, s])
            cpu.flashAttentionForward(qkv: qkvT, heads: heads, seqLen: s, out: out, logSumExp: lse)
            let dQkv = cpu.makeTensor([t, 3 * h])
            cpu.flashAttentionBackward(dOut: cpu.tensor([t, h], up), qkv: qkvT, out: out, logSumExp: lse, heads: heads, seqLen: s, dQkv: dQkv)
            return (cpu.downloadFloats(out), cpu.downloadFloats(dQkv))
        }
        let one = run(CPUBackend(threads: 1)), three = run(CPUBackend(threads: 3))
        let sameOut = one.out.map(\.bitPattern) == three.out.map(\.bitPattern)
        let sameGrad = one.dQkv.map(\.bitPattern) == three.dQkv.map(\.bitPattern)
        #expect(sameOut, "flash attention output depends on the thread count")
        #expect(sameGrad, "flash attention gradient depends on the thread count")
    }
}
