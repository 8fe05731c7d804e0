import XMoECompute

/// The routed experts this rank holds, stacked: w_in [L, H, F] (SwiGLU: [L, H, 2F], gate | up),
/// w_out [L, F, H], optional biases. Each runs on its contiguous rows (grouped GEMM).
/// With bf16 compute copies of the weights, both grouped GEMMs take bf16 rows (converted here) and
/// bf16 weights and give fp32 outputs (the second may give bf16 ones: `forward`'s `outputDType`);
/// the saved GEMM inputs are the bf16 ones.
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
    /// Rows the per-row tensors are carved from (`Backend.makeOutput(rows:bound:columns:)`).
    private var rowBound = 0

    init(_ store: ParameterStore, _ prefix: String, experts: Range<Int>, hidden h: Int, ffn f: Int,
         activation: ModelConfig.Activation, bias: Bool, std: Double, outputStd: Double) {
        backend = store.backend
        self.activation = activation
        let (l, width) = (experts.count, activation == .swiglu ? 2 * f : f)
        wIn = store.add("\(prefix).*.w_in", shape: [l, h, width], initial: .normal(std: std), weightDecay: true, experts: experts,
                        firstGradientOverwrites: true)
        bIn = bias ? store.add("\(prefix).*.b_in", shape: [l, width], initial: .constant(0), weightDecay: false, experts: experts) : nil
        wOut = store.add("\(prefix).*.w_out", shape: [l, f, h], initial: .normal(std: outputStd), weightDecay: true, experts: experts,
                         firstGradientOverwrites: true)
        bOut = bias ? store.add("\(prefix).*.b_out", shape: [l, h], initial: .constant(0), weightDecay: false, experts: experts) : nil
    }

    /// `rowBound` (≥ the rows): the most rows this layer can get, so the tensors sized by the rows
    /// keep one size from step to step (the rows themselves when they are unbounded). `outputDType`:
    /// fp32, or the second GEMM's compute dtype (`self.outputDType`) for a reader that takes it (the
    /// unpermute, with no all-to-all between): then the GEMM's fp32 sums, bias included, rounded once.
    func forward(_ rows: Tensor, counts_L: [Int], rowBound: Int? = nil, outputDType: DType = .float32) -> Tensor {
        precondition(outputDType == .float32 || outputDType == self.outputDType,
                     "Experts: a \(outputDType) output from weights computed in \(self.outputDType)")
        var offsets: [Int] = [], next = 0
        for c in counts_L { offsets.append(next); next += c }
        segments = (offsets, counts_L)
        // The segments cover every row, so the GEMMs (beta 0) write the outputs in full.
        precondition(next == rows.rows, "Experts: \(next) rows in the segments, \(rows.rows) given")
        let n = rows.rows
        self.rowBound = max(rowBound ?? n, n)
        // GELU's input in the first GEMM's dtype (bf16: rounded once after the bias, as under autocast);
        // GELU reads it and writes the second GEMM's bf16 input, its backward reads it again.
        let preDType = activation == .gelu ? (wIn.compute?.dtype ?? .float32) : .float32
        let pre = backend.makeOutput(rows: n, bound: self.rowBound, columns: wIn.value.dim(2), dtype: preDType)
        let x = lowered(rows)
        backend.groupedLinearForward(x: x, w: wIn.compute ?? wIn.value, b: bIn?.value, rowOffsets: offsets, rowCounts: counts_L, out: pre)
        let act = activate(backend, activation, pre, dtype: wIn.compute?.dtype ?? .float32, bound: self.rowBound)
        let out = backend.makeOutput(rows: n, bound: self.rowBound, columns: wOut.value.dim(2), dtype: outputDType)
        backend.groupedLinearForward(x: act, w: wOut.compute ?? wOut.value, b: bOut?.value, rowOffsets: offsets, rowCounts: counts_L, out: out)
        (self.x, self.pre, self.act) = (x, pre, act)
        return out
    }

    /// The dtype the first GEMM reads its rows in (rows given in it are used as they are).
    var inputDType: DType { wIn.compute?.dtype ?? .float32 }

    /// The dtype the output may be given in: the second GEMM's (fp32 without compute copies).
    var outputDType: DType { wOut.compute?.dtype ?? .float32 }

    /// The dtype the output's gradient may come in: the second GEMM's. In bf16 the output bias's
    /// gradient sums the rounded gradient the GEMMs read (in fp32), as under PyTorch's autocast.
    var outputGradientDType: DType { wOut.compute?.dtype ?? .float32 }

    /// A GEMM input in the weights' compute dtype (a new bf16 tensor, or `t` itself in fp32).
    private func lowered(_ t: Tensor) -> Tensor {
        guard let dtype = wIn.compute?.dtype else { return t }
        return backend.converted(t, to: dtype, bound: rowBound)
    }

    /// dX (written whole: the segments tile the rows), dW and dB of one grouped linear map whose
    /// saved input `x` may be bf16: then dOut is rounded for the GEMMs (if it is not bf16 already)
    /// and the bias gradient sums dOut as given.
    private func linearBackward(x: Tensor, w: Parameter, b: Parameter?, dOut: Tensor, dX: Tensor) {
        let (offsets, counts) = segments
        let overwriteDW = w.takePendingZero()
        guard x.dtype != .float32, let w16 = w.compute else {
            return backend.groupedLinearBackward(x: x, w: w.value, dOut: dOut, rowOffsets: offsets, rowCounts: counts,
                                                 dX: dX, dW: w.grad, dB: b?.grad, overwriteDX: true, overwriteDW: overwriteDW)
        }
        backend.groupedLinearBackward(x: x, w: w16, dOut: backend.converted(dOut, to: w16.dtype, bound: rowBound), rowOffsets: offsets,
                                      rowCounts: counts, dX: dX, dW: w.grad, dB: nil, overwriteDX: true, overwriteDW: overwriteDW)
        if let b { backend.sumRowSegments(dOut, rowOffsets: offsets, rowCounts: counts, into: b.grad) }
    }

    /// Returns the gradient w.r.t. the input rows; weight gradients accumulate.
    func backward(_ dOut: Tensor) -> Tensor {
        guard let x, let pre, let act else { fatalError("Experts: backward before forward") }
        // The second GEMM's data gradient in bf16 where GELU's backward reads it so (as autocast's grouped
        // GEMM backward gives it).
        let dAct = backend.makeOutput(rows: act.rows, bound: rowBound, columns: act.columns,
                                      dtype: activation == .gelu ? (wOut.compute?.dtype ?? .float32) : .float32)
        linearBackward(x: act, w: wOut, b: bOut, dOut: dOut, dX: dAct)
        // Written whole by the activation's backward; in the first GEMM's dtype where GELU can write
        // it so (bf16: the GEMMs read it rounded anyway, and the input bias's gradient sums that
        // rounded gradient, as under autocast).
        let dPreType = activation == .gelu ? (wIn.compute?.dtype ?? .float32) : .float32
        let dPre = backend.makeOutput(rows: pre.rows, bound: rowBound, columns: pre.columns, dtype: dPreType)
        activateBackward(backend, activation, pre: pre, dOut: dAct, dPre: dPre, overwrite: true)
        let dX = backend.makeOutput(rows: x.rows, bound: rowBound, columns: x.columns)
        linearBackward(x: x, w: wIn, b: bIn, dOut: dPre, dX: dX)
        return dX
    }
}
