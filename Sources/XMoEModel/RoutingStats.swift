/// One MoE layer's routing in the last forward (for /moe/layer_NN/* metrics).
public struct RoutingStats: Sendable, Equatable {
    public let layer: Int
    /// Slots the router sent to each global expert (T·K in total).
    public let routed_E: [Int]
    /// Slots each expert actually processed after capacity dropping.
    public let kept_E: [Int]
    public let auxLoss: Float
    public let zLoss: Float

    public var dropped: Int { routed_E.reduce(0, +) - kept_E.reduce(0, +) }
    /// Dropped share of the T·K slots.
    public var droppedFraction: Double {
        let total = routed_E.reduce(0, +)
        return total == 0 ? 0 : Double(dropped) / Double(total)
    }
}
