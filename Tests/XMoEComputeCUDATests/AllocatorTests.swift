import Testing
@testable import XMoEComputeCUDA

@Suite struct AllocatorTests {
    @Test func sizeClassesRoundUpAndCover() {
        // Up to 4 KiB: 512-byte steps; above: steps of an eighth of the power of two below.
        let cases: [(Int, Int)] = [(0, 512), (1, 512), (512, 512), (513, 1024), (4096, 4096), (4097, 4608), (5000, 5120),
                                   (1 << 20, 1 << 20), ((1 << 20) + 1, (1 << 20) + (1 << 17)), ((4 << 20) + 3, (4 << 20) + (1 << 19)),
                                   (47_000 * 8192, 48 << 23)]
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
        // Rows per expert vary between steps; the size classes absorb that.
        let step1 = [4 << 20, 3_000_000, 100, 2000, (4 << 20) - 5]
        let step2 = [(4 << 20) - 100, 3_100_000, 90, 1800, 4 << 20]
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
        let peak = book.peakBytesInUse
        #expect(peak == 2 * (4 << 20) + 3 * (1 << 20) + 512 + 2048)  // 3 000 000 bytes → 3 MiB
        for block in live { book.give(address: block.0, sizeClass: block.1) }
        let drained = book.drain()
        #expect(drained.count == 5)
        let cachedAfterDrain = book.bytesCached
        #expect(cachedAfterDrain == 0)
    }

    /// A request takes a block of its own class only, never a larger cached one; misses are
    /// counted by class.
    @Test func onlyTheOwnClassServesAndMissesAreCounted() {
        var book = BlockCache()
        for (address, size) in [(UInt(0x1000), 4096), (0x9000, 3072), (0x40000, 2048)] {
            book.recordSystemAllocation(sizeClass: size)
            book.give(address: address, sizeClass: size)
        }
        let own = book.take(sizeClass: 2048)
        #expect(own?.address == 0x40000)
        #expect(own?.sizeClass == 2048)
        let none = book.take(sizeClass: 2048)
        #expect(none == nil)  // 3072 and 4096 are free, but not of this class
        let smaller = book.take(sizeClass: 1536)
        #expect(smaller == nil)
        book.recordSystemAllocation(sizeClass: 2048)
        book.recordSystemAllocation(sizeClass: 1536)
        book.recordSystemAllocation(sizeClass: 2048)
        let misses = book.missesBySizeClass
        #expect(misses == [4096: 1, 3072: 1, 2048: 3, 1536: 1])
        let total = book.systemAllocations
        #expect(total == 6)
        let cached = book.bytesCached
        #expect(cached == 4096 + 3072)
    }

    /// Steps that repeat the same requests, each new tensor allocated before the one it replaces
    /// (the previous step's) is freed, and a scratch block freed at once: nothing is allocated
    /// after the second step. With best fit up to twice the request (the rule before), this
    /// pattern still allocated in the third step: 3, 5, 6, 6, 6 system allocations.
    @Test func repeatedStepsAllocateNothingAfterTheSecond() {
        var book = BlockCache()
        var next: UInt = 0x1000
        func allocate(_ bytes: Int) -> (UInt, Int) {
            let size = BlockCache.sizeClass(bytes)
            if let cached = book.take(sizeClass: size) { return (cached.address, cached.sizeClass) }
            book.recordSystemAllocation(sizeClass: size)
            defer { next += UInt(size) }
            return (next, size)
        }
        var held: [Int: (UInt, Int)] = [:]
        func replace(_ slot: Int, _ bytes: Int) {
            let fresh = allocate(bytes)
            if let old = held[slot] { book.give(address: old.0, sizeClass: old.1) }
            held[slot] = fresh
        }
        var counts: [Int] = []
        for _ in 1...5 {
            replace(3, 2048)
            replace(1, 1536)
            let scratch = allocate(3072)
            book.give(address: scratch.0, sizeClass: scratch.1)
            replace(0, 3072)
            counts.append(book.systemAllocations)
        }
        #expect(counts[1] == counts[4], "system allocations after each step: \(counts)")
        let blocks = Set(held.values.map(\.0))
        #expect(blocks.count == 3)  // no block handed out twice
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
