/// NumPy's legacy `numpy.random.RandomState(seed)`: MT19937 with `init_genrand` seeding and the
/// masked-rejection `random_interval` used by `shuffle`/`permutation`. Megatron's GPT indices are
/// shuffled with it, so reproducing them needs this exact stream (frozen by NumPy policy).
public struct NumPyRandomState: Sendable {
    private var state = [UInt32](repeating: 0, count: 624)
    private var position = 624

    public init(seed: UInt32) {
        state[0] = seed
        for i in 1..<624 {
            let previous = state[i - 1]
            state[i] = 1_812_433_253 &* (previous ^ (previous >> 30)) &+ UInt32(i)
        }
    }

    public mutating func next32() -> UInt32 {
        if position >= 624 { twist() }
        var y = state[position]
        position += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    /// High half first, as NumPy's `mt19937_next64`.
    public mutating func next64() -> UInt64 {
        let high = UInt64(next32())
        return (high << 32) | UInt64(next32())
    }

    /// Uniform integer in `0...max` (NumPy `random_interval`).
    public mutating func interval(_ max: UInt64) -> UInt64 {
        if max == 0 { return 0 }
        var mask = max
        mask |= mask >> 1
        mask |= mask >> 2
        mask |= mask >> 4
        mask |= mask >> 8
        mask |= mask >> 16
        mask |= mask >> 32
        if max <= 0xFFFF_FFFF {
            while true {
                let value = UInt64(next32()) & mask
                if value <= max { return value }
            }
        }
        while true {
            let value = next64() & mask
            if value <= max { return value }
        }
    }

    /// `RandomState.shuffle` of a 1-D array: top-down Fisher–Yates.
    public mutating func shuffle<C: MutableCollection & RandomAccessCollection>(_ items: inout C) where C.Index == Int {
        guard items.count > 1 else { return }
        let start = items.startIndex
        for i in stride(from: items.count - 1, through: 1, by: -1) {
            let j = Int(interval(UInt64(i)))
            items.swapAt(start + i, start + j)
        }
    }

    /// `RandomState.permutation(n)`: a shuffled `0..<n`.
    public mutating func permutation(_ n: Int) -> [Int64] {
        var values = (0..<Int64(n)).map { $0 }
        shuffle(&values)
        return values
    }

    private mutating func twist() {
        let upper: UInt32 = 0x8000_0000, lower: UInt32 = 0x7FFF_FFFF
        for i in 0..<624 {
            let y = (state[i] & upper) | (state[(i + 1) % 624] & lower)
            var next = state[(i + 397) % 624] ^ (y >> 1)
            if y & 1 != 0 { next ^= 0x9908_B0DF }
            state[i] = next
        }
        position = 0
    }
}
