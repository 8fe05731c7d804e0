/// DeepSeek-V3's aux-loss-free balancing for `sigmoid_bias` gating: after each step, every MoE
/// layer's selection bias moves by `rate` toward balance, b_e += rate · sign(mean load − load_e),
/// with the load counted over the slots the router sent (before dropping).
extension MoETransformer {
    public func updateExpertBias(rate: Float) {
        guard options.gating == .sigmoidBias else { return }
        for block in blocks {
            guard let moe = block.moe, let stats = moe.stats else { continue }
            let mean = Float(stats.routed_E.reduce(0, +)) / Float(stats.routed_E.count)
            var bias = moe.router.expertBias  // one upload per layer, not one per expert
            for (e, load) in stats.routed_E.enumerated() {
                let gap = mean - Float(load)
                bias[e] += gap > 0 ? rate : (gap < 0 ? -rate : 0)
            }
            moe.router.expertBias = bias
        }
    }
}
