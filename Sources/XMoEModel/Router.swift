import XMoECompute

/// The route stage: logits_TE = x_TH · Wg (no bias), then the backend's `routeForward` picks K
/// experts per token and their combine weights and computes the aux loss (on balance) and the
/// router z-loss. Everything stays in the backend's memory: on a GPU, routing reads nothing back.
final class Router {
    let backend: Backend
    let gating: Gating
    let experts: Int
    let topK: Int
    let gate: Linear
    /// sigmoid_bias only: added to the scores for selection (not for weights); not trained by
    /// gradients — the trainer moves it toward balance (DeepSeek-V3's bias update). Setting it
    /// uploads it once, so a forward never uploads.
    var expertBias: [Float] { didSet { backend.upload(expertBias, to: bias_E) } }
    private let bias_E: Tensor

    /// What the backward needs from the last forward.
    private var logits_TE: Tensor?
    private var scores_TE: Tensor?
    private var routing: DeviceRouting?

    init(_ store: ParameterStore, _ prefix: String, hidden: Int, experts: Int, topK: Int, gating: Gating, std: Double) {
        backend = store.backend
        self.gating = gating
        self.experts = experts
        self.topK = topK
        gate = Linear(store, prefix, inputs: hidden, outputs: experts, bias: false, std: std, lowPrecision: false)  // fp32 router (X-MoE §3.1)
        expertBias = [Float](repeating: 0, count: experts)
        bias_E = store.backend.makeTensor([experts])
    }

    func forward(_ x_TH: Tensor) -> DeviceRouting {
        let (t, e, k) = (x_TH.rows, experts, topK)
        let logits = gate.forward(x_TH), scores = backend.makeTensor([t, e])
        let r = DeviceRouting(tokens: t, experts: e, topK: k,
                              expert_TK: backend.makeTensor([t * k], dtype: .int32), weight_TK: backend.makeTensor([t * k]),
                              routed_E: backend.makeTensor([e], dtype: .int32), losses_2: backend.makeTensor([2]))
        backend.routeForward(logits: logits, bias: bias_E, gating: gating.routeGating, topK: k, scores: scores,
                             expert: r.expert_TK, weight: r.weight_TK, routed: r.routed_E, losses: r.losses_2)
        (logits_TE, scores_TE, routing) = (logits, scores, r)
        return r
    }

    /// Gradient of (Σ_slots dWeight·weight + auxCoeff·aux + zCoeff·z) w.r.t. the logits, then
    /// through the gate: dX += dLogits · Wgᵀ, dWg += xᵀ · dLogits.
    func backward(dWeight_TK: Tensor, auxCoeff: Float, zCoeff: Float, dX: Tensor) {
        guard let logits_TE, let scores_TE, let r = routing else { fatalError("Router: backward before forward") }
        let dLogits = backend.makeOutput(logits_TE.shape)  // routeBackward writes it whole
        backend.routeBackward(logits: logits_TE, scores: scores_TE, expert: r.expert_TK, weight: r.weight_TK, routed: r.routed_E,
                              dWeight: dWeight_TK, gating: gating.routeGating, auxCoeff: auxCoeff, zCoeff: zCoeff, dLogits: dLogits)
        gate.backward(dLogits, dX: dX)
    }
}

extension Gating {
    /// The backend op's name for this rule.
    var routeGating: RouteGating {
        switch self {
        case .softmaxTopK: .softmaxTopK
        case .softmaxTopKRenorm: .softmaxTopKRenorm
        case .topKLogits: .topKLogits
        case .sigmoidBias: .sigmoidBias
        }
    }
}
