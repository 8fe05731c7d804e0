import Testing
@testable import XMoEData

/// Golden values from NumPy's legacy RandomState (reference notes §3.4).
@Suite struct NumPyRandomStateTests {
    @Test func mt19937Outputs() {
        var textbook = NumPyRandomState(seed: 5489)
        #expect(textbook.next32() == 3_499_211_612)
        var rng = NumPyRandomState(seed: 1234)
        #expect((0..<5).map { _ in rng.next32() } == [822_569_775, 2_137_449_171, 2_671_936_806, 3_512_589_365, 1_880_026_316])
    }

    @Test func shuffleMatchesNumPy() {
        var rng = NumPyRandomState(seed: 1234)
        var values = Array(0..<10)
        rng.shuffle(&values)
        #expect(values == [7, 2, 9, 1, 0, 8, 4, 5, 6, 3])
        var again = NumPyRandomState(seed: 1234)
        #expect(again.permutation(10) == [7, 2, 9, 1, 0, 8, 4, 5, 6, 3])
    }
}
