import Testing
import XMoECompute

/// Host rounding to bf16 (what the device kernel does bit for bit), against the definition: the
/// nearest value with 8 significant bits, ties to an even last bit.
@Suite struct BFloat16RoundingTests {
    @Test func roundsToNearestEvenAndKeepsSpecialValues() {
        let ulp = Float(1) / 128  // spacing of bf16 values in [1, 2)
        let cases: [(Float, Float)] = [
            (1, 1), (1 + ulp, 1 + ulp),
            (1 + ulp / 2, 1),                      // tie: down to the even neighbour
            (1 + 3 * ulp / 2, 1 + 2 * ulp),        // tie: up to the even neighbour
            (1 + ulp / 2 + ulp / 64, 1 + ulp),     // above the tie: up
            (-(1 + 3 * ulp / 2), -(1 + 2 * ulp)),
            (.infinity, .infinity), (0, 0), (Float.greatestFiniteMagnitude, .infinity),
        ]
        for (x, expected) in cases {
            let got = roundToBFloat16(x)
            #expect(got == expected, "bf16(\(x))")
        }
        let nan = roundToBFloat16(.nan)
        #expect(nan.isNaN)
    }
}
