import XMoECompute

/// y_TO = x_TI · w_IO (+ b_O), remembering x for backward.
///
/// With a bf16 compute copy of w (`Parameter.compute`) and `lowPrecision`, the GEMMs take bf16
/// operands (x and dOut rounded into new tensors) and produce fp32 y, dX and dW; the saved x is the
/// bf16 one (half the memory), the bias and its gradient stay fp32. The router's gate opts out.
final class Linear {
    let backend: Backend
    let w: Parameter
    let b: Parameter?
    let lowPrecision: Bool
    private var x: Tensor?

    init(_ store: ParameterStore, _ prefix: String, suffix: String = "", inputs: Int, outputs: Int,
         bias: Bool, std: Double, lowPrecision: Bool = true) {
        backend = store.backend
        self.lowPrecision = lowPrecision
        w = store.add("\(prefix).w\(suffix)", shape: [inputs, outputs], initial: .normal(std: std), weightDecay: true)
        b = bias ? store.add("\(prefix).b\(suffix)", shape: [outputs], initial: .constant(0), weightDecay: false) : nil
    }

    func forward(_ x_TI: Tensor) -> Tensor {
        let out = backend.makeOutput([x_TI.rows, w.value.dim(1)])
        if lowPrecision, let w16 = w.compute {
            let x16 = backend.converted(x_TI, to: w16.dtype)
            x = x16
            backend.linearForward(x: x16, w: w16, b: b?.value, out: out)
            return out
        }
        x = x_TI
        backend.linearForward(x: x_TI, w: w.value, b: b?.value, out: out)
        return out
    }

    /// dX += dOut · wᵀ (when given; with `overwriteDX`, dX = dOut · wᵀ: a dX from `makeOutput`);
    /// parameter gradients accumulate.
    func backward(_ dOut_TO: Tensor, dX: Tensor?, overwriteDX: Bool = false) {
        guard let x else { fatalError("Linear \(w.name): backward before forward") }
        if x.dtype != .float32, let w16 = w.compute {
            let dOut16 = backend.converted(dOut_TO, to: w16.dtype)
            backend.linearBackward(x: x, w: w16, dOut: dOut16, dX: dX, dW: w.grad, dB: nil, overwriteDX: overwriteDX)
            if let b { backend.sumRows(dOut_TO, rows: 0..<dOut_TO.rows, into: b.grad, outOffset: 0) }
            return
        }
        backend.linearBackward(x: x, w: w.value, dOut: dOut_TO, dX: dX, dW: w.grad, dB: b?.grad, overwriteDX: overwriteDX)
    }
}
