import Testing
@testable import XMoEComputeCUDA

@Suite struct AllocatorTests {
    @Test func sizeClassesRoundUpAndCover() {
        let cases: [(Int, Int)] = [(0, 512), (1, 512), (512, 512), (513, 1024), (1 << 20, 1 << 20),
                                   ((1 << 20) + 1, 2 << 20), ((4 << 20) + 3, 6 << 20)]
        for (bytes, expected) in cases {
            let size = BlockCache.sizeClass(bytes)
            #expect(size == expected, "size class of \(bytes)")
        }
    }

    /// A training step's allocation pattern: after the first step, every request is served from
    /// the cache, so cudaMalloc is never called again.
    @Test func secondStepAllocatesNothingNew() {
        var book = BlockCache()
        var nextAddress: UInt = 0x1000
        func allocate(_ bytes: Int) -> (UInt, Int) {
            let size = BlockCache.sizeClass(bytes)
            if let cached = book.take(sizeClass: size) { return (cached.address, cached.sizeClass) }
            book.recordSystemAllocation(sizeClass: size)
            defer { nextAddress += UInt(size) }
            return (nextAddress, size)
        }
        // Rows per expert vary between steps; the 2 MiB classes absorb that.
        // 2000 → 2048 bytes and then 1500 → 1536: served by the 2048-byte block (best fit ≤ 2×).
        let step1 = [4 << 20, 3_000_000, 100, 2000, (4 << 20) - 5]
        let step2 = [(4 << 20) - 100, 3_100_000, 90, 1500, 4 << 20]
        var live = step1.map(allocate)
        let afterFirst = book.systemAllocations
        #expect(afterFirst == 5)
        for block in live { book.give(address: block.0, sizeClass: block.1) }
        live = step2.map(allocate)
        let afterSecond = book.systemAllocations
        #expect(afterSecond == 5)
        let addresses = Set(live.map(\.0))
        #expect(addresses.count == 5)  // no block handed out twice
        let inUse = book.bytesInUse, cached = book.bytesCached
        #expect(inUse == live.map(\.1).reduce(0, +))
        #expect(cached == 0)
        for block in live { book.give(address: block.0, sizeClass: block.1) }
        let drained = book.drain()
        #expect(drained.count == 5)
        let cachedAfterDrain = book.bytesCached
        #expect(cachedAfterDrain == 0)
    }

    /// Best fit stops at twice the request: a small tensor never pins a huge block.
    @Test func bestFitTakesTheSmallestLargerBlockUpToTwice() {
        var book = BlockCache()
        for (address, size) in [(UInt(0x1000), 4096), (0x9000, 3072), (0x20000, 1 << 20)] {
            book.recordSystemAllocation(sizeClass: size)
            book.give(address: address, sizeClass: size)
        }
        let first = book.take(sizeClass: 2048)
        #expect(first?.address == 0x9000)  // 3072 beats 4096
        #expect(first?.sizeClass == 3072)
        let second = book.take(sizeClass: 2048)
        #expect(second?.address == 0x1000)
        let none = book.take(sizeClass: 2048)  // only the 1 MiB block is left: too large
        #expect(none == nil)
    }

    @Test func arenaBumpsAlignsAndGrowsToTheHighWaterMark() {
        var arena = ArenaBook(capacity: 1024)
        let a = arena.allocate(bytes: 10), b = arena.allocate(bytes: 300), c = arena.allocate(bytes: 600)
        #expect(a == 0)
        #expect(b == 256)  // 10 bytes round up to one 256-byte slot
        #expect(c == nil)  // 256 + 512 + 768 > 1024: this step overflows
        let grow = arena.reset()
        #expect(grow == 256 + 512 + 768)
        // The next step asks the same and fits: nothing overflows, nothing grows.
        let offsets = [10, 300, 600].map { arena.allocate(bytes: $0) }
        #expect(offsets == [0, 256, 768])
        let again = arena.reset()
        #expect(again == nil)
    }
}
