import Foundation

// GELU (tanh approximation, as GPT-2 and the X-MoE experts), SiLU, and SwiGLU (DeepSeek experts).
private let geluScale = Float((2.0 / Double.pi).squareRoot())
private let geluCubic: Float = 0.044715

extension CPUBackend {
    /// out = 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))).
    public func geluForward(_ x: Tensor, out: Tensor) {
        expectCount(out, x.count, "geluForward out")
        func gelu(_ v: Float) -> Float { 0.5 * v * (1 + tanhf(geluScale * (v + geluCubic * v * v * v))) }
        if x.dtype != .float32 {  // bf16/f16 x: widened exactly (the experts' pre-activation as their GEMM rounds it)
            precondition(out.dtype == x.dtype, "geluForward: a \(x.dtype) x takes a \(x.dtype) out, not \(out.dtype)")
            let (xs, dtype) = (x.halves, x.dtype)
            nonisolated(unsafe) let ys = out.halves
            parallelFor(x.count, minPerChunk: 1 << 13) { r in
                for i in r { ys[i] = halfBits(gelu(halfValue(xs[i], dtype)), dtype) }
            }
            return
        }
        let px = x.floats
        if out.dtype != .float32 {  // a bf16/f16 out: each value rounded as `convert` rounds
            let (po, dtype) = (out.halves, out.dtype)
            nonisolated(unsafe) let ys = po
            parallelFor(x.count, minPerChunk: 1 << 13) { r in
                for i in r { ys[i] = halfBits(gelu(px[i]), dtype) }
            }
            return
        }
        let po = out.floats
        parallelFor(x.count, minPerChunk: 1 << 13) { r in
            for i in r { po[i] = gelu(px[i]) }
        }
    }

    public func geluBackward(x: Tensor, dOut: Tensor, dX: Tensor, overwrite: Bool) {
        expectCount(dOut, x.count, "geluBackward dOut"); expectCount(dX, x.count, "geluBackward dX")
        func derivative(_ v: Float) -> Float {
            let th = tanhf(geluScale * (v + geluCubic * v * v * v))
            let sech2 = 1 - th * th
            return 0.5 * (1 + th) + 0.5 * v * sech2 * geluScale * (1 + 3 * geluCubic * v * v)
        }
        if dOut.dtype != .float32 {  // a bf16 dOut: the same op on its widened values
            let wide = makeOutput(dOut.shape)
            convert(dOut, to: wide)
            return geluBackward(x: x, dOut: wide, dX: dX, overwrite: overwrite)
        }
        let pd = dOut.floats
        if dX.dtype != .float32 {  // a bf16/f16 dX: written (never added to), each value rounded as `convert` rounds
            precondition(overwrite, "geluBackward: a \(dX.dtype) dX is written, not added to: pass overwrite")
            let dtype = dX.dtype
            nonisolated(unsafe) let ys = dX.halves
            if x.dtype != .float32 {  // x in the same 16-bit type, widened exactly
                precondition(x.dtype == dtype, "geluBackward: x \(x.dtype) with dX \(dtype)")
                let xs = x.halves
                parallelFor(x.count, minPerChunk: 1 << 13) { r in
                    for i in r { ys[i] = halfBits(derivative(halfValue(xs[i], dtype)) * pd[i], dtype) }
                }
                return
            }
            let px = x.floats
            parallelFor(x.count, minPerChunk: 1 << 13) { r in
                for i in r { ys[i] = halfBits(derivative(px[i]) * pd[i], dtype) }
            }
            return
        }
        let px = x.floats
        let pdx = dX.floats
        parallelFor(x.count, minPerChunk: 1 << 13) { r in
            for i in r { pdx[i] = (overwrite ? 0 : pdx[i]) + derivative(px[i]) * pd[i] }
        }
    }

    /// out = x · sigmoid(x).
    public func siluForward(_ x: Tensor, out: Tensor) {
        expectCount(out, x.count, "siluForward out")
        let (px, po) = (x.floats, out.floats)
        parallelFor(x.count, minPerChunk: 1 << 13) { r in
            for i in r { po[i] = px[i] / (1 + expf(-px[i])) }
        }
    }

    public func siluBackward(x: Tensor, dOut: Tensor, dX: Tensor) {
        expectCount(dOut, x.count, "siluBackward dOut"); expectCount(dX, x.count, "siluBackward dX")
        let (px, pd, pdx) = (x.floats, dOut.floats, dX.floats)
        parallelFor(x.count, minPerChunk: 1 << 13) { r in
            for i in r {
                let s = 1 / (1 + expf(-px[i]))
                pdx[i] += pd[i] * s * (1 + px[i] * (1 - s))
            }
        }
    }

    public func swigluForward(gateUp: Tensor, out: Tensor) {
        let (rows, f) = (out.rows, out.columns)
        expectCount(gateUp, rows * 2 * f, "swigluForward gateUp (rows × 2F)")
        let (pg, po) = (gateUp.floats, out.floats)
        parallelFor(rows, minPerChunk: 16) { r in
            for row in r {
                let (g0, o0) = (row * 2 * f, row * f)
                for j in 0..<f {
                    let g = pg[g0 + j]
                    po[o0 + j] = g / (1 + expf(-g)) * pg[g0 + f + j]
                }
            }
        }
    }

    public func swigluBackward(gateUp: Tensor, dOut: Tensor, dGateUp: Tensor, overwrite: Bool) {
        let (rows, f) = (dOut.rows, dOut.columns)
        expectCount(gateUp, rows * 2 * f, "swigluBackward gateUp"); expectCount(dGateUp, rows * 2 * f, "swigluBackward dGateUp")
        let (pg, pd, pdg) = (gateUp.floats, dOut.floats, dGateUp.floats)
        parallelFor(rows, minPerChunk: 16) { r in
            for row in r {
                let (g0, o0) = (row * 2 * f, row * f)
                for j in 0..<f {
                    let g = pg[g0 + j], u = pg[g0 + f + j], d = pd[o0 + j]
                    let s = 1 / (1 + expf(-g))
                    pdg[g0 + j] = (overwrite ? 0 : pdg[g0 + j]) + d * u * s * (1 + g * (1 - s))
                    pdg[g0 + f + j] = (overwrite ? 0 : pdg[g0 + f + j]) + d * g * s
                }
            }
        }
    }
}
