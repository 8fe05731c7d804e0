/// What gradient synchronisation (and ZeRO-1's parameter all-gather) moved in one step. Bytes are
/// the ones this rank sends under a ring algorithm: all-reduce 2·(g−1)/g·n·4, reduce-scatter and
/// all-gather (g−1)/g·n·4 for n fp32 elements over a group of g ranks; a group whose members sit
/// on more than one node (`GroupLayout.node`) counts as inter-node, otherwise intra-node.
public struct GradientSyncStats: Sendable, Equatable {
    public var intraNodeBytes: Int = 0
    public var interNodeBytes: Int = 0
    public var seconds: Double = 0

    public init(intraNodeBytes: Int = 0, interNodeBytes: Int = 0, seconds: Double = 0) {
        self.intraNodeBytes = intraNodeBytes
        self.interNodeBytes = interNodeBytes
        self.seconds = seconds
    }

    mutating func add(bytes: Int, interNode: Bool) {
        if interNode { interNodeBytes += bytes } else { intraNodeBytes += bytes }
    }
}
