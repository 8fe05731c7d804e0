import XMoECompute

// Dropout with the caller's mask (see XMoECompute's Ops/Dropout): elementwise products, bit-identical
// to the CPU's because the kernels round each product and sum separately (no FMA).
extension CUDABackend {
    public func dropoutForward(_ x: Tensor, mask: Tensor, out: Tensor) {
        precondition(mask.count == x.count && out.count == x.count, "dropoutForward: x \(x.shape), mask \(mask.shape), out \(out.shape)")
        guard x.count > 0 else { return }
        context.launch("xmoe_dropout_fwd", .elementwise(count: x.count), [ptr(x), ptr(mask), ptr(out), .int64(Int64(x.count))])
    }

    public func dropoutBackward(dOut: Tensor, mask: Tensor, dX: Tensor) {
        precondition(mask.count == dOut.count && dX.count == dOut.count,
                     "dropoutBackward: dOut \(dOut.shape), mask \(mask.shape), dX \(dX.shape)")
        guard dOut.count > 0 else { return }
        context.launch("xmoe_dropout_bwd", .elementwise(count: dOut.count), [ptr(dOut), ptr(mask), ptr(dX), .int64(Int64(dOut.count))])
    }
}
