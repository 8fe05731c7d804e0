import Foundation

// Rotary position embedding on the q and k parts of qkv_T3H, rotate-half pairing (i, i + D/2) as in
// GPT-NeoX, Llama and DeepSeek. The rotation is orthogonal, so backward is the inverse rotation.
extension CPUBackend {
    public func ropeForward(qkv: Tensor, heads: Int, seqLen: Int, theta: Float, out: Tensor) {
        let (t, h, d) = ropeDims(qkv, heads: heads, seqLen: seqLen)
        expectShape(out, qkv.shape, "ropeForward out")
        let (cosSD, sinSD) = ropeTables(seqLen: seqLen, headDim: d, theta: theta)
        let (px, po) = (qkv.floats, out.floats)
        let half = d / 2
        parallelFor(t, minPerChunk: 4) { r in
            for row in r {
                let base = row * 3 * h
                let angles = (row % seqLen) * half
                for part in 0..<2 {
                    for n in 0..<heads {
                        let a0 = base + part * h + n * d
                        for i in 0..<half {
                            let (c, s) = (cosSD[angles + i], sinSD[angles + i])
                            let (xa, xb) = (px[a0 + i], px[a0 + half + i])
                            po[a0 + i] = xa * c - xb * s
                            po[a0 + half + i] = xa * s + xb * c
                        }
                    }
                }
                if px.baseAddress != po.baseAddress {
                    for j in (base + 2 * h)..<(base + 3 * h) { po[j] = px[j] }
                }
            }
        }
    }

    public func ropeBackward(dOut: Tensor, heads: Int, seqLen: Int, theta: Float, dQkv: Tensor, overwrite: Bool) {
        let (t, h, d) = ropeDims(dOut, heads: heads, seqLen: seqLen)
        expectShape(dQkv, dOut.shape, "ropeBackward dQkv")
        precondition(dOut.storage !== dQkv.storage, "ropeBackward: dQkv must not alias dOut (it accumulates)")
        let (cosSD, sinSD) = ropeTables(seqLen: seqLen, headDim: d, theta: theta)
        let (pd, pdx) = (dOut.floats, dQkv.floats)
        let half = d / 2
        parallelFor(t, minPerChunk: 4) { r in
            for row in r {
                let base = row * 3 * h
                let angles = (row % seqLen) * half
                for part in 0..<2 {
                    for n in 0..<heads {
                        let a0 = base + part * h + n * d
                        for i in 0..<half {
                            let (c, s) = (cosSD[angles + i], sinSD[angles + i])
                            let (da, db) = (pd[a0 + i], pd[a0 + half + i])
                            pdx[a0 + i] = (overwrite ? 0 : pdx[a0 + i]) + (da * c + db * s)
                            pdx[a0 + half + i] = (overwrite ? 0 : pdx[a0 + half + i]) + (db * c - da * s)
                        }
                    }
                }
                for j in (base + 2 * h)..<(base + 3 * h) { pdx[j] = (overwrite ? 0 : pdx[j]) + pd[j] }
            }
        }
    }

    private func ropeDims(_ qkv: Tensor, heads: Int, seqLen: Int) -> (t: Int, h: Int, d: Int) {
        precondition(qkv.columns % 3 == 0 && heads > 0 && (qkv.columns / 3) % heads == 0,
                     "rope: qkv \(qkv.shape) is not [T, 3·N·D] for N = \(heads)")
        let (t, h) = (qkv.rows, qkv.columns / 3)
        let d = h / heads
        precondition(d % 2 == 0, "rope: head width \(d) must be even")
        precondition(seqLen > 0 && t % seqLen == 0, "rope: \(t) tokens are not whole sequences of \(seqLen)")
        return (t, h, d)
    }

    /// cos and sin of pos · theta^(−2i/D) for pos < seqLen, i < D/2, computed in Double.
    private func ropeTables(seqLen: Int, headDim d: Int, theta: Float) -> (cos: [Float], sin: [Float]) {
        let half = d / 2
        var cosSD = [Float](repeating: 0, count: seqLen * half)
        var sinSD = cosSD
        for pos in 0..<seqLen {
            for i in 0..<half {
                let angle = Double(pos) * pow(Double(theta), -2 * Double(i) / Double(d))
                cosSD[pos * half + i] = Float(Foundation.cos(angle))
                sinSD[pos * half + i] = Float(Foundation.sin(angle))
            }
        }
        return (cosSD, sinSD)
    }
}
