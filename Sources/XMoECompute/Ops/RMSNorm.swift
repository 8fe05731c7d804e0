extension CPUBackend {
    public func rmsNormForward(x: Tensor, weight: Tensor, eps: Float, out: Tensor, rstd: Tensor) {
        let (rows, h) = (x.rows, x.columns)
        expectCount(weight, h, "rmsNorm weight"); expectShape(out, x.shape, "rmsNorm out"); expectCount(rstd, rows, "rmsNorm rstd")
        let (px, pw, po, pr) = (x.floats, weight.floats, out.floats, rstd.floats)
        parallelFor(rows, minPerChunk: 8) { r in
            for row in r {
                let base = row * h
                var sq: Float = 0
                for i in 0..<h { sq += px[base + i] * px[base + i] }
                let s = 1 / (sq / Float(h) + eps).squareRoot()
                for i in 0..<h { po[base + i] = px[base + i] * s * pw[i] }
                pr[row] = s
            }
        }
    }

    /// dX_i += s·w_i·d_i − x_i·s³/H · Σ_j d_j w_j x_j;  dW_i += Σ_t d_i x_i s.
    public func rmsNormBackward(
        dOut: Tensor, x: Tensor, weight: Tensor, rstd: Tensor, dX: Tensor, dWeight: Tensor, overwriteDX: Bool
    ) {
        let (rows, h) = (x.rows, x.columns)
        expectShape(dOut, x.shape, "rmsNormBackward dOut"); expectShape(dX, x.shape, "rmsNormBackward dX")
        expectCount(dWeight, h, "rmsNormBackward dWeight")
        let (pd, px, pw, pr, pdx, pdw) = (dOut.floats, x.floats, weight.floats, rstd.floats, dX.floats, dWeight.floats)
        parallelFor(rows, minPerChunk: 8) { r in
            for row in r {
                let base = row * h
                let s = pr[row]
                var dot: Float = 0
                for i in 0..<h { dot += pd[base + i] * pw[i] * px[base + i] }
                let c = s * s * s * dot / Float(h)
                for i in 0..<h { pdx[base + i] = (overwriteDX ? 0 : pdx[base + i]) + (s * pw[i] * pd[base + i] - px[base + i] * c) }
            }
        }
        parallelFor(h, minPerChunk: 64) { cr in
            for row in 0..<rows {
                let base = row * h
                let s = pr[row]
                for i in cr { pdw[i] += pd[base + i] * px[base + i] * s }
            }
        }
    }
}
