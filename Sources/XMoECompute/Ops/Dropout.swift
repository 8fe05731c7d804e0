// Dropout with a mask the caller draws (0 where dropped, 1/(1−p) where kept), so that the mask is a
// pure function of (seed, purpose, step, index) in the model and a resumed run draws the same one.
// Forward and backward are the same product: out = x ⊙ mask, dX += dOut ⊙ mask.
extension CPUBackend {
    public func dropoutForward(_ x: Tensor, mask: Tensor, out: Tensor) {
        expectCount(mask, x.count, "dropoutForward mask"); expectCount(out, x.count, "dropoutForward out")
        let (px, pm, po) = (x.floats, mask.floats, out.floats)
        parallelFor(x.count, minPerChunk: 1 << 15) { r in
            for i in r { po[i] = px[i] * pm[i] }
        }
    }

    public func dropoutBackward(dOut: Tensor, mask: Tensor, dX: Tensor) {
        expectCount(mask, dOut.count, "dropoutBackward mask"); expectCount(dX, dOut.count, "dropoutBackward dX")
        let (pd, pm, px) = (dOut.floats, mask.floats, dX.floats)
        parallelFor(dOut.count, minPerChunk: 1 << 15) { r in
            for i in r { px[i] += pd[i] * pm[i] }
        }
    }
}
