import XMoECompute

/// The unpermute stage: y_TH[token of row b] += weight(slot of b) · y_BH[b]; dropped slots add 0.
final class Unpermute {
    let backend: Backend
    private var plan: PermutePlan?
    private var token_B: Tensor?
    private var weight_B: Tensor?
    private var y_BH: Tensor?

    init(backend: Backend) { self.backend = backend }

    func forward(_ y_BH: Tensor, plan: PermutePlan, weight_TK: [Float], tokens: Int) -> Tensor {
        let token_B = tokenIndex(backend, plan), weight_B = backend.makeTensor([plan.rows])
        backend.upload(plan.slot_B.map { weight_TK[$0] }, to: weight_B)
        let y_TH = backend.makeTensor([tokens, y_BH.columns])
        backend.scatterAddRows(y_BH, index: token_B, weight: weight_B, into: y_TH)
        (self.plan, self.token_B, self.weight_B, self.y_BH) = (plan, token_B, weight_B, y_BH)
        return y_TH
    }

    /// Returns dY_BH and the gradient of each slot's combine weight (0 for dropped slots).
    func backward(_ dY_TH: Tensor) -> (dY_BH: Tensor, dWeight_TK: [Float]) {
        guard let plan, let token_B, let weight_B, let y_BH else { fatalError("Unpermute: backward before forward") }
        let dY_BH = backend.makeTensor(y_BH.shape), dWeight_B = backend.makeTensor([plan.rows])
        backend.scatterAddRowsBackward(dDst: dY_TH, src: y_BH, index: token_B, weight: weight_B, dSrc: dY_BH, dWeight: dWeight_B)
        var dWeight_TK = [Float](repeating: 0, count: dY_TH.rows * plan.topK)
        for (b, g) in backend.downloadFloats(dWeight_B).enumerated() { dWeight_TK[plan.slot_B[b]] = g }
        return (dY_BH, dWeight_TK)
    }
}
