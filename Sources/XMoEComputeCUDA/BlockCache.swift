/// The bookkeeping of the caching device allocator, kept free of CUDA so CI can test it: blocks
/// are rounded up to size classes, a freed block goes to its class's free list, and a request
/// takes a cached block of its class before the system allocator is asked (cudaMalloc synchronises
/// the device and costs milliseconds, so a training step must not call it after the first step).
///
/// Reuse is safe without events because the backend uses one stream: work queued on a block before
/// it was freed runs before work queued by its next owner.
public struct BlockCache: Sendable {
    /// Requests up to 4 KiB round to 512 bytes; a larger one to a multiple of an eighth of its
    /// power of two (at most 12.5% more than asked), so a tensor whose row count varies with
    /// routing (the kept rows under a capacity factor) stays in one or two classes: a class is
    /// served only by its own blocks (`take`), so every new class costs a cudaMalloc. (With 2 MiB
    /// steps, [rows, 2048] fp32 changed class every 256 rows: the capacity-1.25 step benchmark
    /// called cudaMalloc ~50 times in every step, run c5-1.)
    public static func sizeClass(_ bytes: Int) -> Int {
        precondition(bytes >= 0, "negative allocation of \(bytes) bytes")
        let small = 512
        if bytes <= 4096 { return max(small, (bytes + small - 1) / small * small) }
        let step = 1 << (Int.bitWidth - 1 - bytes.leadingZeroBitCount - 3)
        return (bytes + step - 1) / step * step
    }

    private var free: [Int: [UInt]] = [:]
    /// Bytes in blocks handed out and not yet returned (by size class).
    public private(set) var bytesInUse = 0
    /// The most bytes ever in use at once (what PyTorch calls max_memory_allocated, by size class).
    public private(set) var peakBytesInUse = 0
    /// Bytes in blocks held in free lists.
    public private(set) var bytesCached = 0
    /// How many times the system allocator was (or must be) called.
    public private(set) var systemAllocations = 0
    /// System allocations per requested size class (the misses), to find which request grew the
    /// cache in a step that should not have.
    public private(set) var missesBySizeClass: [Int: Int] = [:]

    public init() {}

    /// A cached block of class `sizeClass`, or nil: the caller then allocates one and calls
    /// `recordSystemAllocation`. Returns the block's class, which its release must name.
    ///
    /// Only a block of the request's own class serves it. Why not best fit (a larger cached
    /// block, as before): a borrowed block is missing from its own class later in the step, which
    /// then allocates, and which class borrows from which depends on the cache's state, so the
    /// pattern shifted from step to step and the third step of the training check still called
    /// cudaMalloc (NOTES.md run 8). With one class per request, the number of blocks a class holds
    /// is the most of its tensors ever alive at once, a function of the requests alone: a step
    /// that repeats the previous step's requests (the second step onwards, with the previous
    /// step's activations alive until the forward replaces them) allocates nothing. Row counts
    /// that vary with routing are absorbed by the size classes' width.
    public mutating func take(sizeClass: Int) -> (address: UInt, sizeClass: Int)? {
        guard let address = free[sizeClass]?.popLast() else { return nil }
        return handOut(address, sizeClass)
    }

    private mutating func handOut(_ address: UInt, _ sizeClass: Int) -> (address: UInt, sizeClass: Int) {
        bytesCached -= sizeClass
        bytesInUse += sizeClass
        peakBytesInUse = max(peakBytesInUse, bytesInUse)
        return (address, sizeClass)
    }

    public mutating func recordSystemAllocation(sizeClass: Int) {
        systemAllocations += 1
        missesBySizeClass[sizeClass, default: 0] += 1
        bytesInUse += sizeClass
        peakBytesInUse = max(peakBytesInUse, bytesInUse)
    }

    public mutating func give(address: UInt, sizeClass: Int) {
        free[sizeClass, default: []].append(address)
        bytesInUse -= sizeClass
        bytesCached += sizeClass
    }

    /// Empties the free lists (to release memory before retrying a failed system allocation);
    /// returns what the caller must free.
    public mutating func drain() -> [(address: UInt, sizeClass: Int)] {
        var out: [(UInt, Int)] = []
        for (size, list) in free { out += list.map { ($0, size) } }
        free = [:]
        bytesCached = 0
        return out
    }
}

/// The bookkeeping of a per-step workspace (llm.c's activation arena): tensors are bump-allocated
/// at aligned offsets of one block, `reset` at the start of each step frees them all, and a step
/// that needed more than the block marks the block to grow to the high-water mark at its next
/// reset. After the first step, a step allocates nothing.
public struct ArenaBook: Sendable {
    public static let alignment = 256
    public private(set) var capacity: Int
    public private(set) var used = 0
    /// The most bytes any step asked of the arena, overflow included.
    public private(set) var highWater = 0
    private var requested = 0

    public init(capacity: Int) { self.capacity = capacity }

    /// The offset of a new `bytes`-byte region, or nil when the block is full (the caller then
    /// allocates outside the arena for this step).
    public mutating func allocate(bytes: Int) -> Int? {
        let size = (max(bytes, 1) + Self.alignment - 1) / Self.alignment * Self.alignment
        requested += size
        highWater = max(highWater, requested)
        guard used + size <= capacity else { return nil }
        defer { used += size }
        return used
    }

    /// Frees every region; returns the capacity the block must grow to (nil: it is large enough).
    public mutating func reset() -> Int? {
        used = 0
        requested = 0
        guard highWater > capacity else { return nil }
        capacity = highWater
        return capacity
    }
}
