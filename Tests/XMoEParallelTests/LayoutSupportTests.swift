import Testing
import XMoEParallel

/// The groups `xmoe plan` lists and the layouts this version refuses, against hand-derived answers.
@Suite struct LayoutSupportTests {
    @Test func groupsOfFourRanksInTwoNodes() throws {
        let layout = try GroupLayout(dp: 4, tp: 1, ep: 2, ranksPerNode: 2)
        let ep = layout.describeGroups(.ep), expertDP = layout.describeGroups(.expertDP)
        let node = layout.describeGroups(.node), dp = layout.describeGroups(.dp)
        #expect(ep == "[0 1] [2 3]")
        #expect(expertDP == "[0 2] [1 3]")
        #expect(node == "[0 1] [2 3]")
        #expect(dp == "[0 1 2 3]")
        let many = try GroupLayout(dp: 64, tp: 1, ep: 4, ranksPerNode: 8).describeGroups(.ep)
        #expect(many == "16 groups of 4")
    }

    @Test func supportedLayoutsHaveNoReasons() {
        let pft = LayoutSupport.unsupportedReasons(dp: 4, tp: 1, ep: 4, ranksPerNode: 2, experts: 8, dispatcher: "pft")
        let padded = LayoutSupport.unsupportedReasons(dp: 4, tp: 1, ep: 2, ranksPerNode: 4, experts: 8, dispatcher: "padded")
        let local = LayoutSupport.unsupportedReasons(dp: 2, tp: 1, ep: 1, ranksPerNode: 2, experts: 8, dispatcher: "local")
        #expect(pft.isEmpty && padded.isEmpty && local.isEmpty, "\(pft) \(padded) \(local)")
    }

    @Test func eachUnsupportedLayoutSaysWhy() {
        func reasons(dp: Int = 4, tp: Int = 1, ep: Int = 2, experts: Int = 8, dispatcher: String = "pft") -> String {
            LayoutSupport.unsupportedReasons(dp: dp, tp: tp, ep: ep, ranksPerNode: dp * tp, experts: experts,
                                             dispatcher: dispatcher).joined(separator: " | ")
        }
        let rbd = reasons(dispatcher: "rbd"), tp = reasons(tp: 2), epDP = reasons(ep: 3, experts: 9)
        let experts = reasons(ep: 4, experts: 6), local = reasons(dispatcher: "local")
        #expect(rbd.contains("'rbd'") && rbd.contains("not yet implemented"), "\(rbd)")
        #expect(tp.contains("parallel.tp = 2") && tp.contains("SSMB"), "\(tp)")
        #expect(epDP.contains("parallel.ep (3) must divide parallel.dp (4)"), "\(epDP)")
        #expect(experts.contains("moe.num_experts (6) must be divisible by parallel.ep (4)"), "\(experts)")
        #expect(local.contains("local dispatcher needs parallel.ep = 1"), "\(local)")
    }
}
