import XMoECompute

/// The routed experts this rank holds, stacked: w_in [L, H, F] (SwiGLU: [L, H, 2F], gate | up),
/// w_out [L, F, H], optional biases. Each runs on its contiguous rows (grouped GEMM).
final class Experts {
    let backend: Backend
    let activation: ModelConfig.Activation
    let wIn: Parameter
    let bIn: Parameter?
    let wOut: Parameter
    let bOut: Parameter?
    private var x: Tensor?
    private var pre: Tensor?
    private var act: Tensor?
    private var segments: (offsets: [Int], counts: [Int]) = ([], [])

    init(_ store: ParameterStore, _ prefix: String, experts: Range<Int>, hidden h: Int, ffn f: Int,
         activation: ModelConfig.Activation, bias: Bool, std: Double, outputStd: Double) {
        backend = store.backend
        self.activation = activation
        let (l, width) = (experts.count, activation == .swiglu ? 2 * f : f)
        wIn = store.add("\(prefix).*.w_in", shape: [l, h, width], initial: .normal(std: std), weightDecay: true, experts: experts)
        bIn = bias ? store.add("\(prefix).*.b_in", shape: [l, width], initial: .constant(0), weightDecay: false, experts: experts) : nil
        wOut = store.add("\(prefix).*.w_out", shape: [l, f, h], initial: .normal(std: outputStd), weightDecay: true, experts: experts)
        bOut = bias ? store.add("\(prefix).*.b_out", shape: [l, h], initial: .constant(0), weightDecay: false, experts: experts) : nil
    }

    func forward(_ rows: Tensor, counts_L: [Int]) -> Tensor {
        var offsets: [Int] = [], next = 0
        for c in counts_L { offsets.append(next); next += c }
        segments = (offsets, counts_L)
        let pre = backend.makeTensor([rows.rows, wIn.value.dim(2)])
        backend.groupedLinearForward(x: rows, w: wIn.value, b: bIn?.value, rowOffsets: offsets, rowCounts: counts_L, out: pre)
        let act = activate(backend, activation, pre)
        let out = backend.makeTensor([rows.rows, wOut.value.dim(2)])
        backend.groupedLinearForward(x: act, w: wOut.value, b: bOut?.value, rowOffsets: offsets, rowCounts: counts_L, out: out)
        (x, self.pre, self.act) = (rows, pre, act)
        return out
    }

    /// Returns the gradient w.r.t. the input rows; weight gradients accumulate.
    func backward(_ dOut: Tensor) -> Tensor {
        guard let x, let pre, let act else { fatalError("Experts: backward before forward") }
        let dAct = backend.makeTensor(act.shape)
        backend.groupedLinearBackward(x: act, w: wOut.value, dOut: dOut, rowOffsets: segments.offsets,
                                      rowCounts: segments.counts, dX: dAct, dW: wOut.grad, dB: bOut?.grad)
        let dPre = backend.makeTensor(pre.shape)
        activateBackward(backend, activation, pre: pre, dOut: dAct, dPre: dPre)
        let dX = backend.makeTensor(x.shape)
        backend.groupedLinearBackward(x: x, w: wIn.value, dOut: dPre, rowOffsets: segments.offsets,
                                      rowCounts: segments.counts, dX: dX, dW: wIn.grad, dB: bIn?.grad)
        return dX
    }
}
