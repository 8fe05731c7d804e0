import XMoECompute

/// What the router decided for T tokens, on the host: slot `t·K + j` is token t's j-th choice.
/// The model keeps its routing in backend memory (`DeviceRouting`); this host form is the one
/// tests and references build by hand.
public struct Routing: Sendable {
    public let tokens: Int
    public let experts: Int
    public let topK: Int
    /// Chosen global expert per slot.
    public let expert_TK: [Int]
    /// Combine weight per slot (what the expert's output is multiplied by).
    public let weight_TK: [Float]
    /// X-MoE's `l_aux` = E/K · Σ_e me_e · ce_e, unscaled: me_e the mean over tokens of the balance
    /// scores (softmax probabilities; sigmoid_bias: sigmoids normalised per token), ce_e = routed_e / T
    /// (the mean of the 0/1 top-k mask, i.e. K × the fraction of the T·K slots). 1 when balanced.
    public let auxLoss: Float
    /// mean_t logsumexp(logits_t)², unscaled.
    public let zLoss: Float

    /// Slots routed to each expert (before dropping).
    public var routedPerExpert: [Int] {
        var counts = [Int](repeating: 0, count: experts)
        for e in expert_TK { counts[e] += 1 }
        return counts
    }
}

/// The router's decision as the backend's `routeForward` wrote it, in backend memory: nothing here
/// has been read back (on a GPU, reading `routed_E` or `losses_2` waits for the device).
struct DeviceRouting {
    let tokens: Int
    let experts: Int
    let topK: Int
    /// int32 [T·K]: chosen global expert per slot.
    let expert_TK: Tensor
    /// [T·K]: combine weight per slot.
    let weight_TK: Tensor
    /// int32 [E]: slots sent to each expert, before dropping.
    let routed_E: Tensor
    /// [2]: the aux loss and the z-loss, unscaled (as `Routing.auxLoss`, `Routing.zLoss`).
    let losses_2: Tensor
}
