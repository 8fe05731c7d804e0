import Testing
@testable import XMoEPlot

@Suite struct TicksTests {
    func expectClose(_ actual: [Double], _ expected: [Double], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(actual.count == expected.count, "\(actual) vs \(expected)", sourceLocation: sourceLocation)
        for (a, e) in zip(actual, expected) {
            #expect(abs(a - e) <= 1e-12 * max(1, abs(e)), "\(actual) vs \(expected)", sourceLocation: sourceLocation)
        }
    }

    @Test func linearTicksUseTheSmallestFittingOneTwoFiveStep() {
        expectClose(Ticks.linear(0, 1, maxCount: 6), [0, 0.2, 0.4, 0.6, 0.8, 1.0])
        expectClose(Ticks.linear(0, 1, maxCount: 11), [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
        expectClose(Ticks.linear(0, 100, maxCount: 5), [0, 50, 100])
        expectClose(Ticks.linear(-3.7, 12.2, maxCount: 8), [-2, 0, 2, 4, 6, 8, 10, 12])
        expectClose(Ticks.linear(0.00013, 0.00057, maxCount: 5), [2e-4, 3e-4, 4e-4, 5e-4])
        expectClose(Ticks.linear(-105, 2105, maxCount: 7), [0, 500, 1000, 1500, 2000])
        expectClose(Ticks.linear(7, 7, maxCount: 5), [7])
    }

    @Test func logTicksArePowersOfTenThenOneTwoFive() {
        expectClose(Ticks.log(1e-5, 1e-1, maxCount: 6), [1e-5, 1e-4, 1e-3, 1e-2, 1e-1])
        expectClose(Ticks.log(1e-8, 1e4, maxCount: 5), [1e-6, 1e-3, 1, 1e3])
        expectClose(Ticks.log(3e-6, 4e-4, maxCount: 6), [1e-5, 1e-4])
        expectClose(Ticks.log(2e-4, 9e-4, maxCount: 6), [2e-4, 5e-4])
        expectClose(Ticks.log(0.15, 0.7, maxCount: 6), [0.2, 0.5])
    }

    @Test func labelsAreCompact() {
        #expect(Ticks.format(0) == "0")
        #expect(Ticks.format(1000, step: 500) == "1k")
        #expect(Ticks.format(1500, step: 500) == "1.5k")
        #expect(Ticks.format(2.5e6) == "2.5M")
        #expect(Ticks.format(1.25e9) == "1.25G")
        #expect(Ticks.format(0.001) == "0.001")
        #expect(Ticks.format(1e-4) == "1e-4")
        #expect(Ticks.format(2.5e-5) == "2.5e-5")
        #expect(Ticks.format(0.6000000000000001, step: 0.2) == "0.6")
        #expect(Ticks.format(-2, step: 1) == "-2")
        #expect(Ticks.format(12.25, step: 0.25) == "12.25")
        #expect(Ticks.format(500, step: 500) == "500")
    }
}
