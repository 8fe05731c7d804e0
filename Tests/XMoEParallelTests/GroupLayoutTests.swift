import Testing
import XMoEParallel

/// Group memberships against lists written out from Megatron/X-MoE's placement rules (TP fastest,
/// then DP; EP groups = consecutive DP indices, expert-DP groups = strided), and the properties every
/// layout must have.
@Suite struct GroupLayoutTests {
    @Test func dataParallelWithExpertsMatchesXMoEPlacement() throws {
        let layout = try GroupLayout(dp: 4, tp: 1, ep: 2, ranksPerNode: 2)
        let ep = (0..<4).map { layout.members(.ep, of: $0) }
        let expertDP = (0..<4).map { layout.members(.expertDP, of: $0) }
        let nodes = (0..<4).map { layout.members(.node, of: $0) }
        #expect(ep == [[0, 1], [0, 1], [2, 3], [2, 3]])
        #expect(expertDP == [[0, 2], [1, 3], [0, 2], [1, 3]])
        #expect(nodes == [[0, 1], [0, 1], [2, 3], [2, 3]])
        let experts = (0..<4).map { layout.localExperts(of: $0, experts: 8) }
        #expect(experts == [0..<4, 4..<8, 0..<4, 4..<8])
    }

    @Test func tensorParallelIsFastest() throws {
        let layout = try GroupLayout(dp: 4, tp: 2, ep: 2, ranksPerNode: 8)
        let dp = (0..<8).map { layout.members(.dp, of: $0) }
        let tp = (0..<8).map { layout.members(.tp, of: $0) }
        let ep = [0, 1, 4].map { layout.members(.ep, of: $0) }
        let expertDP = [0, 1, 2].map { layout.members(.expertDP, of: $0) }
        #expect(dp[0] == [0, 2, 4, 6] && dp[1] == [1, 3, 5, 7])
        #expect(tp[0] == [0, 1] && tp[5] == [4, 5])
        #expect(ep == [[0, 2], [1, 3], [4, 6]])
        #expect(expertDP == [[0, 4], [1, 5], [2, 6]])
    }

    @Test(arguments: [(1, 1, 1, 1), (2, 1, 2, 1), (4, 1, 4, 2), (8, 1, 2, 4), (6, 2, 3, 4), (4, 2, 1, 8)])
    func everyGroupKindPartitionsTheWorld(dp: Int, tp: Int, ep: Int, perNode: Int) throws {
        let layout = try GroupLayout(dp: dp, tp: tp, ep: ep, ranksPerNode: perNode)
        let world = layout.worldSize
        for kind in GroupLayout.Kind.allCases {
            var seen = [Int](repeating: 0, count: world)
            for rank in 0..<world {
                let members = layout.members(kind, of: rank)
                let containsSelf = members.contains(rank)
                #expect(containsSelf, "\(kind) group of rank \(rank) misses it")
                for other in members {
                    let same = layout.members(kind, of: other)
                    #expect(same == members, "\(kind): ranks \(rank) and \(other) disagree on their group")
                }
                seen[rank] += 1
            }
            let sizes = Set((0..<world).map { layout.members(kind, of: $0).count })
            let expected: Int
            switch kind {
            case .world: expected = world
            case .dp: expected = dp
            case .tp: expected = tp
            case .ep: expected = ep
            case .expertDP: expected = dp / ep
            case .node: expected = min(perNode, world)
            }
            #expect(sizes == [expected], "\(kind) group sizes \(sizes), expected \(expected)")
        }
        // An EP group holds every expert exactly once; an expert-DP group holds one shard replicated.
        let experts = 12 * ep
        for rank in 0..<world {
            let shards = layout.members(.ep, of: rank).map { layout.localExperts(of: $0, experts: experts) }
            let covered = shards.flatMap { Array($0) }.sorted()
            #expect(covered == Array(0..<experts))
            let replicas = Set(layout.members(.expertDP, of: rank).map { layout.localExperts(of: $0, experts: experts) })
            #expect(replicas.count == 1)
        }
    }

    @Test func refusesExpertParallelismThatDoesNotDivideDataParallelism() {
        #expect(throws: GroupLayout.Invalid.self) { try GroupLayout(dp: 6, tp: 1, ep: 4, ranksPerNode: 6) }
        #expect(throws: GroupLayout.Invalid.self) { try GroupLayout(dp: 4, tp: 1, ep: 1, ranksPerNode: 3) }
    }
}
