/// The communicators of one rank, one per group of `GroupLayout`: world, dp, tp, ep, expert-dp and
/// node. Built collectively: every rank of the world must construct it with the same layout.
public final class ProcessGroups: @unchecked Sendable {
    public let layout: GroupLayout
    public let world: any Communicator
    public let dp: any Communicator
    public let tp: any Communicator
    public let ep: any Communicator
    public let expertDP: any Communicator
    public let node: any Communicator

    public var rank: Int { world.rank }

    public init(world: any Communicator, layout: GroupLayout) throws {
        guard world.size == layout.worldSize else {
            throw GroupLayout.Invalid(description: "the job has \(world.size) rank\(world.size == 1 ? "" : "s") but the layout needs "
                + "\(layout.worldSize) (dp \(layout.dp) × tp \(layout.tp)); start it with that many ranks")
        }
        self.layout = layout
        self.world = world
        let rank = world.rank
        // Ranks are ordered by their world rank inside every group (key = world rank).
        func make(_ kind: GroupLayout.Kind) throws -> any Communicator {
            guard let comm = try world.split(color: layout.color(kind, of: rank), key: rank) else {
                fatalError("split of the \(kind.rawValue) group returned no communicator for a rank with a color")
            }
            return comm
        }
        dp = try make(.dp)
        tp = try make(.tp)
        ep = try make(.ep)
        expertDP = try make(.expertDP)
        node = try make(.node)
    }

    /// The communicator of `kind`.
    public func group(_ kind: GroupLayout.Kind) -> any Communicator {
        switch kind {
        case .world: return world
        case .dp: return dp
        case .tp: return tp
        case .ep: return ep
        case .expertDP: return expertDP
        case .node: return node
        }
    }

    /// A single process: every group is the world of one rank.
    public static func single() throws -> ProcessGroups {
        try ProcessGroups(world: SingleProcessCommunicator(), layout: GroupLayout(dp: 1, tp: 1, ep: 1, ranksPerNode: 1))
    }
}
