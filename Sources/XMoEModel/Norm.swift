import XMoECompute

/// LayerNorm (weight and bias) or RMSNorm (weight only) over the hidden dimension.
final class Norm {
    let backend: Backend
    let kind: ModelConfig.Norm
    let eps: Float
    let weight: Parameter
    let bias: Parameter?
    private var x: Tensor?
    private var mean: Tensor?
    private var rstd: Tensor?

    init(_ store: ParameterStore, _ prefix: String, kind: ModelConfig.Norm, hidden: Int, eps: Float) {
        backend = store.backend
        self.kind = kind
        self.eps = eps
        weight = store.add("\(prefix).weight", shape: [hidden], initial: .constant(1), weightDecay: false)
        bias = kind == .layerNorm
            ? store.add("\(prefix).bias", shape: [hidden], initial: .constant(0), weightDecay: false) : nil
    }

    func forward(_ x_TH: Tensor) -> Tensor {
        let t = x_TH.rows
        let out = backend.makeOutput(x_TH.shape), rstd = backend.makeOutput([t])
        x = x_TH
        self.rstd = rstd
        switch kind {
        case .layerNorm:
            let mean = backend.makeTensor([t])
            self.mean = mean
            backend.layerNormForward(x: x_TH, weight: weight.value, bias: bias!.value, eps: eps, out: out, mean: mean, rstd: rstd)
        case .rmsNorm:
            backend.rmsNormForward(x: x_TH, weight: weight.value, eps: eps, out: out, rstd: rstd)
        }
        return out
    }

    /// dX += the input gradient (with `overwriteDX`, dX = it: a dX from `makeOutput`); the weight
    /// (and bias) gradients accumulate.
    func backward(_ dOut_TH: Tensor, dX: Tensor, overwriteDX: Bool = false) {
        guard let x, let rstd else { fatalError("Norm \(weight.name): backward before forward") }
        switch kind {
        case .layerNorm:
            backend.layerNormBackward(dOut: dOut_TH, x: x, weight: weight.value, mean: mean!, rstd: rstd,
                                      dX: dX, dWeight: weight.grad, dBias: bias!.grad, overwriteDX: overwriteDX)
        case .rmsNorm:
            backend.rmsNormBackward(dOut: dOut_TH, x: x, weight: weight.value, rstd: rstd, dX: dX, dWeight: weight.grad,
                                    overwriteDX: overwriteDX)
        }
    }
}
