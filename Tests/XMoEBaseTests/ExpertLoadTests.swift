import Testing
import XMoEBase

/// Dead and hot experts against hand-computed shares: 8 experts, 1024 slots, even share 128.
struct ExpertLoadTests {
    @Test func theIssuesQuickstartLoadHasADeadExpertAndNoHotOne() {
        // The quickstart's slots at step 150 before tuning (issue 12): 4/128 = 3% of the even share.
        let load = ExpertLoad(counts_E: [222, 111, 132, 74, 184, 220, 77, 4])
        let imbalance = load.imbalance ?? 0
        #expect(abs(imbalance - 222.0 / 128.0) < 1e-12)
        #expect(load.deadExperts == [7])
        #expect(load.hotExperts == [])
        let warning = load.warning(layer: 1)
        #expect(warning == "layer 1: expert 7 dead (3% of the even share, under 10%)")
    }

    @Test func thresholdsAreStrict() {
        // 12.8 is exactly 10% of 128: not dead; 256 is exactly 2×: not hot. 12 and 257 are.
        let edge = ExpertLoad(counts_E: [13, 256, 128, 128, 128, 128, 128, 115])
        #expect(edge.deadExperts == [] && edge.hotExperts == [])
        let over = ExpertLoad(counts_E: [12, 257, 128, 128, 128, 128, 128, 115])
        #expect(over.deadExperts == [0])
        #expect(over.hotExperts == [1])
        let warning = over.warning(layer: 3)
        #expect(warning == "layer 3: expert 0 dead (9% of the even share, under 10%); expert 1 hot (2.0× the even share, over 2.0×)")
    }

    @Test func aBalancedOrEmptyLayerIsHealthy() {
        #expect(ExpertLoad(counts_E: [120, 140, 128, 128]).warning(layer: 1) == nil)
        let empty = ExpertLoad(counts_E: [0, 0, 0, 0])
        #expect(empty.warning(layer: 1) == nil && empty.imbalance == nil)
    }

    @Test func windowsSumStepByStep() {
        let load = ExpertLoad.sum([[1, 2, 3], [10, 0, 5]])
        #expect(load.counts_E == [11, 2, 8])
    }
}
