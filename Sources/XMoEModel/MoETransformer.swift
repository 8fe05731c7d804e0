import XMoECompute

/// The losses of one forward. `total = lm + auxCoeff·aux + zCoeff·z`; aux and z are summed over
/// the MoE layers, unscaled.
public struct LossParts: Sendable, Equatable {
    public let lm: Float
    public let aux: Float
    public let z: Float
    public let total: Float
}

/// Errors a caller can cause with its inputs.
public enum ModelInputError: Error, CustomStringConvertible {
    case shape(String)
    case token(String)

    public var description: String {
        switch self {
        case .shape(let m), .token(let m): return m
        }
    }
}

/// The DeepSeek-style MoE decoder for one rank's shard: embedding → blocks → final norm → LM head →
/// cross-entropy (mean over tokens whose target is ≥ 0). Forward and backward are written by hand
/// (llm.c style); `backward()` adds into the gradients of `parameters` (the LM head's share already
/// in a training forward: the loss runs in chunks of tokens, see `LMHead`).
public final class MoETransformer {
    public let config: ModelConfig
    public let options: MoEOptions
    public let backend: Backend
    public let parameters: ParameterStore
    let embedding: Parameter
    let blocks: [TransformerBlock]
    let finalNorm: Norm
    let head: LMHead
    let dropoutControl: DropoutControl
    let embeddingDropout: DropoutSite

    /// Dropout probabilities (none by default).
    public var dropout: DropoutRates {
        get { dropoutControl.rates }
        set { dropoutControl.rates = newValue }
    }

    /// The training forward the next `forward` calls belong to; their dropout masks derive from it
    /// (and the seed). nil — the default, and what evaluation sets — runs without dropout.
    public var dropoutStream: DropoutStream? {
        get { dropoutControl.stream }
        set { dropoutControl.stream = newValue }
    }
    /// Moves every MoE layer's rows to their experts' ranks (one for all layers; state per layer
    /// lives in the layer's dispatch context).
    public let dispatcher: TokenDispatcher

    private var tokens: Tensor?
    private var targets: Tensor?
    private var seqLen = 0
    private var counted = 0
    /// The LM head's input gradient the last forward made with its loss, with the store's
    /// `gradientEpoch` then (its weight gradient already went into the store); nil once a backward
    /// used it or when the forward made none.
    private var headGradient: (dX: Tensor, epoch: Int)?

    public init(config c: ModelConfig, options o: MoEOptions, backend: Backend, dispatcher: TokenDispatcher? = nil) {
        config = c
        options = o
        self.backend = backend
        let store = ParameterStore(backend: backend, seed: o.seed)
        parameters = store
        let dispatcher = dispatcher ?? LocalDispatcher(experts: c.numExperts)
        let control = DropoutControl(backend: backend, seed: o.seed)
        dropoutControl = control
        embeddingDropout = DropoutSite(control, "embedding")
        self.dispatcher = dispatcher
        embedding = store.add("embedding.weight", shape: [c.paddedVocab, c.hidden], initial: .normal(std: o.initStd), weightDecay: true)
        blocks = (0..<c.layers).map { TransformerBlock(store, layer: $0, config: c, options: o, dispatcher: dispatcher, dropout: control) }
        finalNorm = Norm(store, "final_norm", kind: c.norm, hidden: c.hidden, eps: o.normEps)
        head = LMHead(store, config: c, options: o, tiedTo: embedding)
        store.seal()
    }

    /// tokens_BS and targets_BS flattened row-major (T = batch · seqLen); a target < 0 is ignored.
    ///
    /// The LM loss runs in chunks of tokens (`LMHead`): its gradient is known here, so with
    /// `gradients` (the default, for training) this forward already adds the LM head's weight
    /// gradient into `parameters` and keeps the head's input gradient for `backward()`; no T × V
    /// tensor is ever kept. Evaluation passes `gradients: false` and does no gradient work.
    public func forward(tokens tokens_BS: [Int32], targets targets_BS: [Int32], seqLen: Int? = nil,
                        gradients: Bool = true) throws -> LossParts {
        let s = seqLen ?? config.seqLength
        guard s > 0, s <= config.seqLength, tokens_BS.count % s == 0, !tokens_BS.isEmpty,
              targets_BS.count == tokens_BS.count else {
            throw ModelInputError.shape("MoETransformer.forward: \(tokens_BS.count) tokens and \(targets_BS.count) targets "
                + "do not form whole sequences of length \(s) (seq_length \(config.seqLength)); pass batch·seq of each")
        }
        if let bad = tokens_BS.first(where: { $0 < 0 || Int($0) >= config.paddedVocab }) ?? targets_BS.first(where: { Int($0) >= config.paddedVocab }) {
            throw ModelInputError.token("MoETransformer.forward: token id \(bad) outside the vocabulary [0, \(config.paddedVocab))")
        }
        let t = tokens_BS.count
        self.seqLen = s
        let tokens = backend.makeTensor([t], dtype: .int32), targets = backend.makeTensor([t], dtype: .int32)
        backend.upload(tokens_BS, to: tokens)
        backend.upload(targets_BS, to: targets)
        var x_TH = backend.makeOutput([t, config.hidden])  // every row gathered from the table
        backend.embeddingForward(tokens: tokens, table: embedding.value, out: x_TH)
        x_TH = embeddingDropout.forward(x_TH, p: dropout.hidden)
        for block in blocks { x_TH = try block.forward(x_TH, seqLen: s) }
        counted = targets_BS.filter { $0 >= 0 }.count
        // The head writes dNormed whole (`LMHead.loss`): no zero fill.
        let losses = backend.makeTensor([t]), dNormed = gradients ? backend.makeOutput([t, config.hidden]) : nil
        head.loss(finalNorm.forward(x_TH), targets: targets, scale: lossScale, losses: losses, dX: dNormed)
        (self.tokens, self.targets) = (tokens, targets)
        headGradient = dNormed.map { ($0, parameters.gradientEpoch) }
        var lm: Double = 0
        for l in backend.downloadFloats(losses) { lm += Double(l) }
        lm /= Double(max(counted, 1))
        let stats = routingStats
        let aux = stats.reduce(Float(0)) { $0 + $1.auxLoss }, z = stats.reduce(Float(0)) { $0 + $1.zLoss }
        return LossParts(lm: Float(lm), aux: aux, z: z,
                         total: Float(lm) + options.auxLossCoeff * aux + options.zLossCoeff * z)
    }

    /// Gradients of the last forward's `total`, ADDED into `parameters` (call `zeroGrads` first).
    /// Throws what the dispatcher throws (a failed all-to-all under EP > 1).
    public func backward() throws {
        guard let tokens, let targets else { fatalError("MoETransformer: backward before forward") }
        let t = tokens.count
        let dNormed: Tensor
        if let saved = headGradient, saved.epoch == parameters.gradientEpoch {
            dNormed = saved.dX
        } else {  // the forward's head gradient is spent or was never made: the head runs again
            dNormed = backend.makeOutput([t, config.hidden])
            head.recomputeGradients(targets: targets, scale: lossScale, dX: dNormed)
        }
        headGradient = nil
        // Each [T, H] gradient's first writer overwrites it: no zero fills.
        var dX = backend.makeOutput([t, config.hidden])
        finalNorm.backward(dNormed, dX: dX, overwriteDX: true)
        for block in blocks.reversed() {
            let dIn = backend.makeOutput([t, config.hidden])
            try block.backward(dX, dX: dIn, seqLen: seqLen, overwriteDX: true)
            dX = dIn
        }
        backend.embeddingBackward(tokens: tokens, dOut: embeddingDropout.backward(dX), dTable: embedding.grad)
    }

    public func zeroGrads() { parameters.zeroGrads() }

    /// ∂total/∂loss_t of every counted token: the LM loss is their mean.
    private var lossScale: Float { 1 / Float(max(counted, 1)) }

    /// Routing of each MoE layer in the last forward.
    public var routingStats: [RoutingStats] { blocks.compactMap { $0.moe?.stats } }

    /// sigmoid_bias gating: the selection bias of MoE layer `layer` (DeepSeek-V3 updates it from the
    /// load: bias_e += rate · sign(mean load − load_e)).
    public func expertBias(layer: Int) -> [Float] { blocks[layer].moe?.router.expertBias ?? [] }
    public func setExpertBias(layer: Int, _ bias: [Float]) {
        guard let router = blocks[layer].moe?.router else { return }
        precondition(bias.count == router.experts, "setExpertBias: \(bias.count) values for \(router.experts) experts")
        router.expertBias = bias
    }
}
