import XMoECompute

/// A dense MLP: GELU (x·w_in → gelu → ·w_out) or SwiGLU (x·w_in gives [gate | up], silu(gate)·up
/// → ·w_out). Used for the leading dense layers and for each shared expert.
final class FeedForward {
    let backend: Backend
    let activation: ModelConfig.Activation
    let up: Linear
    let down: Linear
    private var pre: Tensor?

    init(_ store: ParameterStore, _ prefix: String, hidden: Int, ffn: Int, activation: ModelConfig.Activation,
         bias: Bool, std: Double, outputStd: Double) {
        backend = store.backend
        self.activation = activation
        let width = activation == .swiglu ? 2 * ffn : ffn
        up = Linear(store, prefix, suffix: "_in", inputs: hidden, outputs: width, bias: bias, std: std)
        down = Linear(store, prefix, suffix: "_out", inputs: ffn, outputs: hidden, bias: bias, std: outputStd)
    }

    func forward(_ x_TH: Tensor) -> Tensor {
        let pre = up.forward(x_TH)
        self.pre = pre
        return down.forward(activate(backend, activation, pre))
    }

    /// dX += the input gradient (with `overwriteDX`, dX = it: a dX from `makeOutput`).
    func backward(_ dOut_TH: Tensor, dX: Tensor, overwriteDX: Bool = false) {
        guard let pre else { fatalError("FeedForward: backward before forward") }
        // dAct and dPre have one writer each, which overwrites: no zero fill.
        let dAct = backend.makeOutput([pre.rows, down.w.value.dim(0)])
        down.backward(dOut_TH, dX: dAct, overwriteDX: true)
        let dPre = backend.makeOutput(pre.shape)
        activateBackward(backend, activation, pre: pre, dOut: dAct, dPre: dPre, overwrite: true)
        up.backward(dPre, dX: dX, overwriteDX: overwriteDX)
    }
}

/// GELU of pre_TF, or SwiGLU of pre_T2F = [gate | up] (output T×F).
/// The activation of `pre` in `dtype`, its tensors carved from blocks of `bound` rows (default: pre's rows).
func activate(_ backend: Backend, _ activation: ModelConfig.Activation, _ pre: Tensor, dtype: DType = .float32,
              bound: Int? = nil) -> Tensor {
    let bound = max(bound ?? pre.rows, pre.rows)
    switch activation {
    case .gelu:
        let out = backend.makeOutput(rows: pre.rows, bound: bound, columns: pre.columns, dtype: dtype)  // GELU rounds into bf16 itself
        backend.geluForward(pre, out: out)
        return out
    case .swiglu:
        let out = backend.makeOutput(rows: pre.rows, bound: bound, columns: pre.columns / 2)
        backend.swigluForward(gateUp: pre, out: out)
        return backend.converted(out, to: dtype, bound: bound)
    }
}

/// dPre += the activation's backward of dOut (with `overwrite`, dPre = it: a dPre from `makeOutput`).
func activateBackward(_ backend: Backend, _ activation: ModelConfig.Activation, pre: Tensor, dOut: Tensor, dPre: Tensor,
                      overwrite: Bool = false) {
    switch activation {
    case .gelu: backend.geluBackward(x: pre, dOut: dOut, dX: dPre, overwrite: overwrite)
    case .swiglu: backend.swigluBackward(gateUp: pre, dOut: dOut, dGateUp: dPre, overwrite: overwrite)
    }
}
