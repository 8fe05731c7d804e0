import Foundation

/// A counter-based generator: every value is a pure function of (seed, purpose, index), so draws
/// do not depend on the order they are made in, on threads, or on how parameters are sharded
/// (an expert's init depends on its global name, not on the rank that holds it).
///
/// Bits come from SplitMix64's finaliser applied to a key mixed from the three inputs; normals
/// from Box-Muller over two such uniforms.
public struct CounterRNG: Sendable, Equatable {
    public let seed: UInt64
    /// Hash of the purpose string (e.g. a parameter's global name, "data-order").
    public let purpose: UInt64

    public init(seed: UInt64, purpose: String) {
        self.seed = seed
        self.purpose = CounterRNG.fnv1a(purpose)
    }

    /// 64 random bits for `index`.
    public func bits(_ index: UInt64) -> UInt64 {
        CounterRNG.mix(CounterRNG.mix(seed &+ 0x9E37_79B9_7F4A_7C15) ^ CounterRNG.mix(purpose ^ 0xD1B5_4A32_D192_ED03) &+ index &* 0x9E37_79B9_7F4A_7C15)
    }

    /// A uniform double in (0, 1): never 0, so log() in Box-Muller stays finite.
    public func uniform(_ index: UInt64) -> Double {
        (Double(bits(index) >> 11) + 0.5) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// A standard normal for `index` (Box-Muller over the uniforms of counters 2·index and 2·index+1).
    public func normal(_ index: UInt64) -> Double {
        let u1 = uniform(2 &* index), u2 = uniform(2 &* index &+ 1)
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return hash
    }
}
