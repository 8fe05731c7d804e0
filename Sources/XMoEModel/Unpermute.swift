import XMoECompute

/// The unpermute stage: y_TH[t] = Σ over t's kept slots of weight(slot) · y_BH[row of slot], a
/// gather over the plan's inverse map (dropped slots add nothing). y_BH may be bf16 (the experts'
/// GEMM's output when no all-to-all stands between); y_TH and the gradients' sums stay fp32.
final class Unpermute {
    let backend: Backend
    private var plan: PermutePlan?
    private var weight_TK: Tensor?
    private var y_BH: Tensor?

    init(backend: Backend) { self.backend = backend }

    func forward(_ y_BH: Tensor, plan: PermutePlan, weight_TK: Tensor, tokens: Int) -> Tensor {
        guard let rowOfSlot = plan.rowOfSlot_TK else { fatalError("Unpermute: a host plan was given; the model plans on its backend") }
        let y_TH = backend.makeOutput([tokens, y_BH.columns])  // every row written (0 for a token with no kept slot)
        backend.unpermute(y_BH, rowOfSlot: rowOfSlot, weight: weight_TK, topK: plan.topK, into: y_TH, overwrite: true)
        (self.plan, self.weight_TK, self.y_BH) = (plan, weight_TK, y_BH)
        return y_TH
    }

    /// Returns dY_BH and the gradient of each slot's combine weight (0 for dropped slots). dY_BH comes
    /// in `dtype`: bf16 when the experts' GEMM reads it as it is (no all-to-all between).
    func backward(_ dY_TH: Tensor, dtype: DType = .float32) -> (dY_BH: Tensor, dWeight_TK: Tensor) {
        guard let plan, let rowOfSlot = plan.rowOfSlot_TK, let weight_TK, let y_BH else { fatalError("Unpermute: backward before forward") }
        // dY_BH is written whole, fp32 or bf16: each kept row has one slot (`Backend.unpermuteBackward`).
        let dY_BH = backend.makeOutput(rows: y_BH.rows, bound: plan.rowBound, columns: y_BH.columns, dtype: dtype)
        let dWeight_TK = backend.makeTensor([dY_TH.rows * plan.topK])
        backend.unpermuteBackward(dDst: dY_TH, src: y_BH, rowOfSlot: rowOfSlot, weight: weight_TK, topK: plan.topK,
                                  dSrc: dY_BH, dWeight: dWeight_TK, overwriteDSrc: true)
        return (dY_BH, dWeight_TK)
    }
}
