/// The bookkeeping of the caching device allocator, kept free of CUDA so CI can test it: blocks
/// are rounded up to size classes, a freed block goes to its class's free list, and a request
/// takes a cached block of its class before the system allocator is asked (cudaMalloc synchronises
/// the device and costs milliseconds, so a training step must not call it after the first step).
///
/// Reuse is safe without events because the backend uses one stream: work queued on a block before
/// it was freed runs before work queued by its next owner.
public struct BlockCache: Sendable {
    /// Requests up to 1 MiB round to 512 bytes; larger ones to 2 MiB, so a varying expert count
    /// (rows per expert change every step) still hits the same class.
    public static func sizeClass(_ bytes: Int) -> Int {
        precondition(bytes >= 0, "negative allocation of \(bytes) bytes")
        let small = 512, large = 2 << 20
        if bytes <= 1 << 20 { return max(small, (bytes + small - 1) / small * small) }
        return (bytes + large - 1) / large * large
    }

    private var free: [Int: [UInt]] = [:]
    /// Bytes in blocks handed out and not yet returned (by size class).
    public private(set) var bytesInUse = 0
    /// Bytes in blocks held in free lists.
    public private(set) var bytesCached = 0
    /// How many times the system allocator was (or must be) called.
    public private(set) var systemAllocations = 0

    public init() {}

    /// A cached block for a request of class `sizeClass`: one of that class, else the smallest
    /// cached block up to twice as large (expert row counts change every step, so a request often
    /// lands one class above last step's), or nil: the caller then allocates one and calls
    /// `recordSystemAllocation`. Returns the block's own class, which its release must name.
    public mutating func take(sizeClass: Int) -> (address: UInt, sizeClass: Int)? {
        let candidates = free.keys.filter { $0 >= sizeClass && $0 <= 2 * sizeClass && !(free[$0]!.isEmpty) }
        guard let chosen = candidates.min(), var list = free[chosen], let address = list.popLast() else { return nil }
        free[chosen] = list
        bytesCached -= chosen
        bytesInUse += chosen
        return (address, chosen)
    }

    public mutating func recordSystemAllocation(sizeClass: Int) {
        systemAllocations += 1
        bytesInUse += sizeClass
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
