import Foundation
import Testing
import XMoETrain

/// Values worked by hand from Megatron's formulas: warm-up max·s/W; cosine min + (max−min)·½(1+cos πr);
/// linear min + (max−min)(1−r), r = (s−W)/(D−W).
struct LRScheduleTests {
    let tolerance = 1e-12

    @Test func cosineWarmupThenDecayToMin() {
        let s = LRSchedule(maxLR: 1.0, minLR: 0.1, warmup: 10, decayEnd: 110, decay: .cosine)
        #expect(s.lr(atProgress: 0) == 0)
        #expect(abs(s.lr(atProgress: 5) - 0.5) < tolerance)
        #expect(abs(s.lr(atProgress: 10) - 1.0) < tolerance)
        #expect(abs(s.lr(atProgress: 35) - (0.1 + 0.45 * (1 + 0.5.squareRoot()))) < tolerance)  // r = 1/4
        #expect(abs(s.lr(atProgress: 60) - 0.55) < tolerance)  // r = 1/2
        #expect(abs(s.lr(atProgress: 110) - 0.1) < tolerance)
        #expect(s.lr(atProgress: 500) == 0.1)
    }

    @Test func linearAndConstant() {
        let linear = LRSchedule(maxLR: 1.0, minLR: 0.1, warmup: 10, decayEnd: 110, decay: .linear)
        #expect(abs(linear.lr(atProgress: 35) - 0.775) < tolerance)
        #expect(abs(linear.lr(atProgress: 85) - 0.325) < tolerance)
        let constant = LRSchedule(maxLR: 0.3, minLR: 0.1, warmup: 4, decayEnd: 10, decay: .constant)
        #expect(abs(constant.lr(atProgress: 1) - 0.075) < tolerance)
        #expect(constant.lr(atProgress: 1000) == 0.3)
        let noWarmup = LRSchedule(maxLR: 2.0, minLR: 0, warmup: 0, decayEnd: 4, decay: .linear)
        #expect(noWarmup.lr(atProgress: 0) == 2.0)
        #expect(abs(noWarmup.lr(atProgress: 1) - 1.5) < tolerance)
    }

    /// Update n runs at the rate after n−1 updates; in token units the progress is updates × tokens each.
    @Test func progressByIterationsOrTokens() {
        let iterations = LRSchedule(maxLR: 1.0, warmup: 4, decayEnd: 8, decay: .linear, unit: .iterations)
        #expect(iterations.lr(completedUpdates: 0, tokensPerUpdate: 64) == 0)
        #expect(abs(iterations.lr(completedUpdates: 1, tokensPerUpdate: 64) - 0.25) < tolerance)
        let tokens = LRSchedule(maxLR: 1.0, warmup: 1000, decayEnd: 3000, decay: .linear, unit: .tokens)
        #expect(abs(tokens.lr(completedUpdates: 5, tokensPerUpdate: 100) - 0.5) < tolerance)
        #expect(abs(tokens.lr(completedUpdates: 20, tokensPerUpdate: 100) - 0.5) < tolerance)  // r = 1/2
    }
}
