import XMoECompute

/// One trainable tensor and its gradient.
///
/// Routed experts of one layer are stacked in one tensor `[L, …]` (the grouped GEMM needs them
/// contiguous); `experts` says which GLOBAL expert ids the L slices are, and `slices` names each one
/// globally (`layers.03.moe.experts.017.w_in`), for checkpoints that must not depend on the layout.
public final class Parameter: @unchecked Sendable {
    /// The global name; for stacked experts, with `*` in place of the expert id.
    public let name: String
    /// A view into its group's flat value buffer once the store is sealed (`ParameterStore.seal`).
    public internal(set) var value: Tensor
    /// Gradient, same shape; backward passes ADD into it (see `ParameterStore.zeroGrads`). A view into
    /// its group's flat gradient buffer once the store is sealed.
    public internal(set) var grad: Tensor
    /// The bf16 compute copy of `value` (a view into its group's), when the backend computes in
    /// bf16 (`Backend.computeDType`); nil in fp32. Refreshed from `value` by
    /// `ParameterStore.refreshComputeCopy` — never written otherwise.
    public internal(set) var compute: Tensor?
    /// AdamW decays matrices only, never norm weights or biases.
    public let weightDecay: Bool
    public let experts: Range<Int>?
    /// Its first backward after `ParameterStore.zeroGrads` writes the whole gradient instead of
    /// adding (the experts' weights: their gradient GEMM overwrites, zero-row experts included), so
    /// zeroGrads skips clearing it: 5.9 GB of memset and as much read back per X-MoE Small step.
    public let firstGradientOverwrites: Bool
    /// Set by zeroGrads on a `firstGradientOverwrites` parameter: the gradient is zero but its
    /// memory is stale. The first writer takes it (`takePendingZero`); `settleGradients` clears
    /// what no backward wrote.
    public internal(set) var gradPendingZero = false

    init(name: String, value: Tensor, grad: Tensor, weightDecay: Bool, experts: Range<Int>?, firstGradientOverwrites: Bool = false) {
        self.name = name
        self.value = value
        self.grad = grad
        self.weightDecay = weightDecay
        self.experts = experts
        self.firstGradientOverwrites = firstGradientOverwrites
    }

    /// Whether the gradient is pending its zero (the caller must then write it whole rather than
    /// add); either way it is a plain gradient afterwards.
    func takePendingZero() -> Bool {
        defer { gradPendingZero = false }
        return gradPendingZero
    }

    /// Global names with the element ranges they cover in `value` (one entry for a plain tensor).
    public var slices: [(name: String, elements: Range<Int>)] {
        guard let experts else { return [(name, 0..<value.count)] }
        let per = value.count / max(experts.count, 1)
        return experts.enumerated().map { local, global in
            (Parameter.expertName(name, expert: global), (local * per)..<((local + 1) * per))
        }
    }

    public static func expertName(_ pattern: String, expert: Int) -> String {
        pattern.replacingOccurrences(of: "*", with: pad(expert, 3))
    }
}

/// Zero-padded decimal, so names sort in numeric order.
func pad(_ value: Int, _ width: Int) -> String {
    let digits = String(value)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
