import Foundation
import XMoECompute

/// Device memory holding a tensor's elements. Freed blocks return to the allocator's cache, not to
/// CUDA; an arena region (`owner` set) belongs to its arena block and is never freed alone.
public final class DeviceStorage: TensorStorage, @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    public let byteCount: Int
    let sizeClass: Int
    private let allocator: DeviceAllocator?
    /// Keeps an arena's block alive while a tensor in it lives.
    private let owner: AnyObject?

    init(pointer: UnsafeMutableRawPointer, byteCount: Int, sizeClass: Int, allocator: DeviceAllocator?, owner: AnyObject? = nil) {
        self.pointer = pointer
        self.byteCount = byteCount
        self.sizeClass = sizeClass
        self.allocator = allocator
        self.owner = owner
    }

    deinit { allocator?.release(pointer, sizeClass: sizeClass) }
}

/// The caching device allocator: `BlockCache` bookkeeping over cudaMalloc, behind a lock (tensors
/// are freed on whatever thread drops the last reference).
final class DeviceAllocator: @unchecked Sendable {
    private let runtime: CUDARuntimeAPI
    private let lock = NSLock()
    private var book = BlockCache()

    init(runtime: CUDARuntimeAPI) { self.runtime = runtime }

    func allocate(byteCount: Int) throws -> DeviceStorage {
        let size = BlockCache.sizeClass(byteCount)
        lock.lock()
        let cached = book.take(sizeClass: size)
        lock.unlock()
        if let cached {
            return DeviceStorage(pointer: UnsafeMutableRawPointer(bitPattern: cached.address)!, byteCount: byteCount,
                                 sizeClass: cached.sizeClass, allocator: self)
        }
        var pointer: UnsafeMutableRawPointer?
        if runtime.malloc(&pointer, size) != 0 {
            // Out of memory: give the cache back to CUDA and try once more.
            _ = runtime.getLastError()
            lock.lock()
            let drained = book.drain()
            lock.unlock()
            for block in drained { _ = runtime.free(UnsafeMutableRawPointer(bitPattern: block.address)) }
            try runtime.check(runtime.malloc(&pointer, size), "cudaMalloc(\(size) bytes)")
        }
        lock.lock()
        book.recordSystemAllocation(sizeClass: size)
        lock.unlock()
        return DeviceStorage(pointer: pointer!, byteCount: byteCount, sizeClass: size, allocator: self)
    }

    func release(_ pointer: UnsafeMutableRawPointer, sizeClass: Int) {
        lock.lock()
        book.give(address: UInt(bitPattern: pointer), sizeClass: sizeClass)
        lock.unlock()
    }

    var statistics: BlockCache {
        lock.lock()
        defer { lock.unlock() }
        return book
    }
}

extension CUDABackend {
    /// The allocator's bookkeeping now: bytes in use and cached, the peak in use, cudaMalloc calls
    /// and the misses by size class.
    public var allocatorBook: BlockCache { allocator.statistics }
}
