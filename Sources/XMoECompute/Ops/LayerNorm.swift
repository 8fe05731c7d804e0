extension CPUBackend {
    public func layerNormForward(
        x: Tensor, weight: Tensor, bias: Tensor, eps: Float, out: Tensor, mean: Tensor, rstd: Tensor
    ) {
        let (rows, h) = (x.rows, x.columns)
        expectCount(weight, h, "layerNorm weight"); expectCount(bias, h, "layerNorm bias")
        expectShape(out, x.shape, "layerNorm out"); expectCount(mean, rows, "layerNorm mean"); expectCount(rstd, rows, "layerNorm rstd")
        let (px, pw, pb, po, pm, pr) = (x.floats, weight.floats, bias.floats, out.floats, mean.floats, rstd.floats)
        parallelFor(rows, minPerChunk: 8) { r in
            for row in r {
                let base = row * h
                var sum: Float = 0
                for i in 0..<h { sum += px[base + i] }
                let mu = sum / Float(h)
                var sq: Float = 0
                for i in 0..<h { let d = px[base + i] - mu; sq += d * d }
                let s = 1 / (sq / Float(h) + eps).squareRoot()
                for i in 0..<h { po[base + i] = (px[base + i] - mu) * s * pw[i] + pb[i] }
                pm[row] = mu
                pr[row] = s
            }
        }
    }

    public func layerNormBackward(
        dOut: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor,
        dX: Tensor, dWeight: Tensor, dBias: Tensor, overwriteDX: Bool
    ) {
        let (rows, h) = (x.rows, x.columns)
        expectShape(dOut, x.shape, "layerNormBackward dOut"); expectShape(dX, x.shape, "layerNormBackward dX")
        expectCount(dWeight, h, "layerNormBackward dWeight"); expectCount(dBias, h, "layerNormBackward dBias")
        let (pd, px, pw, pm, pr, pdx) = (dOut.floats, x.floats, weight.floats, mean.floats, rstd.floats, dX.floats)
        // dX per row: rows are independent.
        parallelFor(rows, minPerChunk: 8) { r in
            for row in r {
                let base = row * h
                let (mu, s) = (pm[row], pr[row])
                var dnormMean: Float = 0, dnormNormMean: Float = 0
                for i in 0..<h {
                    let dnorm = pw[i] * pd[base + i]
                    dnormMean += dnorm
                    dnormNormMean += dnorm * (px[base + i] - mu) * s
                }
                dnormMean /= Float(h)
                dnormNormMean /= Float(h)
                for i in 0..<h {
                    let norm = (px[base + i] - mu) * s
                    pdx[base + i] = (overwriteDX ? 0 : pdx[base + i]) + (pw[i] * pd[base + i] - dnormMean - norm * dnormNormMean) * s
                }
            }
        }
        // Parameter gradients reduce over rows: split columns, walk rows in order.
        let (pdw, pdb) = (dWeight.floats, dBias.floats)
        parallelFor(h, minPerChunk: 64) { cr in
            for row in 0..<rows {
                let base = row * h
                let (mu, s) = (pm[row], pr[row])
                for i in cr {
                    pdb[i] += pd[base + i]
                    pdw[i] += (px[base + i] - mu) * s * pd[base + i]
                }
            }
        }
    }
}
