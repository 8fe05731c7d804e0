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
