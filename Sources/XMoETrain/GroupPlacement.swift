import XMoEModel
import XMoEParallel

/// Where one parameter group's gradients reduce and how ZeRO-1 cuts it (DESIGN "Distribution"):
/// dense parameters over the data-parallel group, routed experts over the expert-data-parallel
/// group (the ranks that hold the same experts). Under ZeRO-1 member `i` of that group owns the
/// contiguous element range `shards[i]` of the flat buffer: its master weights (the fp32 values
/// there) and AdamW moments; without ZeRO every rank owns the whole buffer.
public struct GroupPlacement {
    public let group: ParameterGroup
    /// The ranks that replicate this group and reduce its gradients together.
    public let replicas: any Communicator
    /// Ranks holding other parts of the same group (the EP group for experts; nil for dense): the
    /// gradient norm sums their distinct parts.
    public let partners: (any Communicator)?
    public let sharded: Bool
    /// Element range owned by each member of `replicas` (one whole range without ZeRO).
    public let shards: [Range<Int>]
    /// Whether `replicas` spans more than one node.
    public let interNode: Bool

    public var owned: Range<Int> { sharded ? shards[replicas.rank] : 0..<group.count }

    init(group: ParameterGroup, groups: ProcessGroups, zeroStage: Int) {
        self.group = group
        let kind: GroupLayout.Kind = group.kind == .dense ? .dp : .expertDP
        replicas = groups.group(kind)
        partners = group.kind == .experts ? groups.ep : nil
        sharded = zeroStage >= 1 && replicas.size > 1
        shards = Self.shardRanges(count: group.count, parts: sharded ? replicas.size : 1)
        let layout = groups.layout
        interNode = Set(layout.members(kind, of: groups.rank).map(layout.node(of:))).count > 1
    }

    /// `count` elements cut into `parts` contiguous ranges whose sizes differ by at most one.
    public static func shardRanges(count: Int, parts: Int) -> [Range<Int>] {
        (0..<parts).map { (($0 * count) / parts)..<((($0 + 1) * count) / parts) }
    }
}
