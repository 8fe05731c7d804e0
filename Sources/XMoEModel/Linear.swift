import XMoECompute

/// y_TO = x_TI · w_IO (+ b_O), remembering x for backward.
final class Linear {
    let backend: Backend
    let w: Parameter
    let b: Parameter?
    private var x: Tensor?

    init(_ store: ParameterStore, _ prefix: String, suffix: String = "", inputs: Int, outputs: Int,
         bias: Bool, std: Double) {
        backend = store.backend
        w = store.add("\(prefix).w\(suffix)", shape: [inputs, outputs], initial: .normal(std: std), weightDecay: true)
        b = bias ? store.add("\(prefix).b\(suffix)", shape: [outputs], initial: .constant(0), weightDecay: false) : nil
    }

    func forward(_ x_TI: Tensor) -> Tensor {
        x = x_TI
        let out = backend.makeTensor([x_TI.rows, w.value.dim(1)])
        backend.linearForward(x: x_TI, w: w.value, b: b?.value, out: out)
        return out
    }

    /// dX += dOut · wᵀ (when given); parameter gradients accumulate.
    func backward(_ dOut_TO: Tensor, dX: Tensor?) {
        guard let x else { fatalError("Linear \(w.name): backward before forward") }
        backend.linearBackward(x: x, w: w.value, dOut: dOut_TO, dX: dX, dW: w.grad, dB: b?.grad)
    }
}
