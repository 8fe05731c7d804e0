import Foundation

extension CPUBackend {
    public func crossEntropyForward(logits: Tensor, targets: Tensor, probs: Tensor, losses: Tensor) {
        let (rows, v) = (logits.rows, logits.columns)
        expectShape(probs, logits.shape, "crossEntropyForward probs")
        expectCount(targets, rows, "crossEntropyForward targets"); expectCount(losses, rows, "crossEntropyForward losses")
        let (px, pt, pp, pl) = (logits.floats, targets.ints, probs.floats, losses.floats)
        parallelFor(rows, minPerChunk: 4) { r in
            for row in r {
                let base = row * v
                // log-sum-exp in the logits' own terms, so a tiny probability gives a finite loss.
                var maxValue = -Float.infinity
                for j in 0..<v { maxValue = max(maxValue, px[base + j]) }
                var sum: Float = 0
                for j in 0..<v {
                    let e = expf(px[base + j] - maxValue)
                    pp[base + j] = e
                    sum += e
                }
                let inv = 1 / sum
                for j in 0..<v { pp[base + j] *= inv }
                let target = Int(pt[row])
                precondition(target < v, "crossEntropyForward: target \(target) outside vocabulary \(v)")
                pl[row] = target < 0 ? 0 : logf(sum) + maxValue - px[base + target]
            }
        }
    }

    public func crossEntropyBackward(probs: Tensor, targets: Tensor, dLosses: Tensor, dLogits: Tensor) {
        let (rows, v) = (probs.rows, probs.columns)
        expectShape(dLogits, probs.shape, "crossEntropyBackward dLogits")
        expectCount(targets, rows, "crossEntropyBackward targets"); expectCount(dLosses, rows, "crossEntropyBackward dLosses")
        let (pp, pt, pdl, pd) = (probs.floats, targets.ints, dLosses.floats, dLogits.floats)
        parallelFor(rows, minPerChunk: 4) { r in
            for row in r {
                let target = Int(pt[row])
                if target < 0 { continue }
                let (base, g) = (row * v, pdl[row])
                for j in 0..<v { pd[base + j] += g * pp[base + j] }
                pd[base + target] -= g
            }
        }
    }
}

extension CPUBackend {
    public func crossEntropyFused(logits: Tensor, targets: Tensor, rowOffset: Int, scale: Float, losses: Tensor, gradient: Tensor?) {
        let (rows, v) = (logits.rows, logits.columns)
        precondition(logits.dtype == .float32, "crossEntropyFused: logits must be float32, not \(logits.dtype)")
        precondition(rowOffset >= 0 && rowOffset + rows <= targets.count && losses.count == targets.count,
                     "crossEntropyFused: rows \(rowOffset)..<\(rowOffset + rows) of targets \(targets.shape), losses \(losses.shape)")
        let (px, pt, pl) = (logits.floats, targets.ints, losses.floats)
        parallelFor(rows, minPerChunk: 4) { r in
            for row in r {
                let (base, target) = (row * v, Int(pt[rowOffset + row]))
                precondition(target < v, "crossEntropyFused: target \(target) outside vocabulary \(v)")
                if target < 0 {
                    for j in 0..<v { px[base + j] = 0 }
                    pl[rowOffset + row] = 0
                    continue
                }
                // The same roundings as crossEntropyForward + crossEntropyBackward (dLosses = scale,
                // dLogits from 0): max, then Σ exp in index order, then scale · (e · (1/Σ)) − scale·onehot.
                let xTarget = px[base + target]
                var maxValue = -Float.infinity
                for j in 0..<v { maxValue = max(maxValue, px[base + j]) }
                var sum: Float = 0
                for j in 0..<v {
                    let e = expf(px[base + j] - maxValue)
                    px[base + j] = e
                    sum += e
                }
                let inv = 1 / sum
                for j in 0..<v { px[base + j] = scale * (px[base + j] * inv) }
                px[base + target] -= scale
                pl[rowOffset + row] = logf(sum) + maxValue - xTarget
            }
        }
        if let gradient {
            precondition(gradient.count == logits.count, "crossEntropyFused: gradient \(gradient.shape) for logits \(logits.shape)")
            convert(logits, to: gradient)
        }
    }
}
