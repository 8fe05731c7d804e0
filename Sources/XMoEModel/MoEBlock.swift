import XMoECompute

/// The MoE FFN as named stages (DESIGN.md): route → permute → dispatch → experts → combine →
/// unpermute → + shared experts.
final class MoEBlock {
    let backend: Backend
    let layer: Int
    let options: MoEOptions
    let router: Router
    let permute: Permute
    let dispatcher: TokenDispatcher
    let experts: Experts
    let unpermute: Unpermute
    let shared: [FeedForward]
    /// This layer's dispatch, from its forward to its backward (the dispatcher is shared by layers).
    private var context: (any DispatchContext)?
    private var routing: DeviceRouting?
    private var kept_E: [Int]?
    private var cachedStats: RoutingStats?

    init(_ store: ParameterStore, layer: Int, config c: ModelConfig, options o: MoEOptions, dispatcher: TokenDispatcher) {
        backend = store.backend
        self.layer = layer
        options = o
        self.dispatcher = dispatcher
        let prefix = "layers.\(pad(layer, 2)).moe"
        let outputStd = o.initStd / (2 * Double(c.layers)).squareRoot()
        router = Router(store, "\(prefix).router", hidden: c.hidden, experts: c.numExperts, topK: c.topK,
                        gating: o.gating, std: o.initStd)
        permute = Permute(backend: backend)
        experts = Experts(store, "\(prefix).experts", experts: dispatcher.localExperts, hidden: c.hidden,
                          ffn: c.expertFFNHidden, activation: c.expertActivation, bias: c.expertBias,
                          std: o.initStd, outputStd: outputStd)
        unpermute = Unpermute(backend: backend)
        shared = (0..<c.numSharedExperts).map {
            FeedForward(store, "\(prefix).shared.\(pad($0, 2))", hidden: c.hidden, ffn: c.sharedExpertFFNHidden,
                        activation: c.expertActivation, bias: c.expertBias, std: o.initStd, outputStd: outputStd)
        }
    }

    func forward(_ x_TH: Tensor) throws -> Tensor {
        let r = router.forward(x_TH)
        let capacity = options.capacity.capacity(tokens: r.tokens, topK: r.topK, experts: r.experts)
        let plan = PermutePlan(backend, routing: r, capacity: capacity)
        // Without an all-to-all the rows go straight to the experts' GEMM: permute them in its dtype.
        let x_BH = permute.forward(x_TH, plan: plan, dtype: dispatcher is LocalDispatcher ? experts.inputDType : .float32)
        let sent = try dispatcher.dispatch(x_BH, plan: plan)
        // EP = 1: the experts' rows are x_BH's, bounded by the plan; else they vary with the peers.
        let bound = dispatcher.localExperts.count == plan.counts_E.count ? plan.rowBound : sent.rows.rows
        // Without an all-to-all the unpermute reads the experts' rows as they are: let them come in the
        // GEMM's dtype, as under autocast (the unpermute's forward and backward read half the bytes);
        // a combine takes fp32.
        let yExperts_BH = experts.forward(sent.rows, counts_L: sent.counts_L, rowBound: bound,
                                          outputDType: dispatcher is LocalDispatcher ? experts.outputDType : .float32)
        let y_BH = try dispatcher.combine(yExperts_BH, context: sent)
        context = sent
        let y_TH = unpermute.forward(y_BH, plan: plan, weight_TK: r.weight_TK, tokens: r.tokens)
        for expert in shared { backend.add(y_TH, expert.forward(x_TH), out: y_TH) }
        (routing, kept_E, cachedStats) = (r, plan.counts_E, nil)
        return y_TH
    }

    /// This layer's routing in the last forward, read back from the backend at the first ask (on a
    /// GPU, a wait: metrics and the loss report ask, the forward itself does not).
    var stats: RoutingStats? {
        if let cachedStats { return cachedStats }
        guard let routing, let kept_E else { return nil }
        let losses = backend.downloadFloats(routing.losses_2)
        let s = RoutingStats(layer: layer, routed_E: backend.downloadInts(routing.routed_E).map { Int($0) }, kept_E: kept_E,
                             auxLoss: losses[0], zLoss: losses[1])
        cachedStats = s
        return s
    }

    /// dX += the input gradient (with `overwriteDX`, dX = it: a dX from `makeOutput`). The writers of
    /// dX keep their order (shared experts, the permute's backward, the router); only the first writes.
    func backward(_ dY_TH: Tensor, dX: Tensor, overwriteDX: Bool = false) throws {
        guard let context else { fatalError("MoEBlock \(layer): backward before forward") }
        for (i, expert) in shared.enumerated() { expert.backward(dY_TH, dX: dX, overwriteDX: overwriteDX && i == 0) }
        let (dY_BH, dWeight_TK) = unpermute.backward(dY_TH, dtype: dispatcher is LocalDispatcher ? experts.outputGradientDType : .float32)
        let dRows = experts.backward(try dispatcher.combineBackward(dY_BH, context: context))
        permute.backward(try dispatcher.dispatchBackward(dRows, context: context), dX_TH: dX, overwrite: overwriteDX && shared.isEmpty)
        router.backward(dWeight_TK: dWeight_TK, auxCoeff: options.auxLossCoeff, zCoeff: options.zLossCoeff, dX: dX)
    }
}
