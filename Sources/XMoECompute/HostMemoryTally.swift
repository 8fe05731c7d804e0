import Foundation

/// Bytes of host tensors alive at once, counted by the storage a backend hands out: the CPU
/// backend's stand-in for a GPU allocator's `peakBytesInUse`, so the GPU memory estimate of
/// `xmoe plan` can be checked on a machine without a GPU (the same model code allocates the same
/// tensors on either backend). One tally per backend: tests running side by side do not mix.
public final class HostMemoryTally: @unchecked Sendable {
    private struct Book {
        var live = 0
        var peak = 0
    }

    // Guards `book` (NSLock: the package still builds for macOS 14, which has no `Mutex`).
    private let lock = NSLock()
    private var book = Book()

    public init() {}

    /// Bytes of this tally's storages not yet freed.
    public var liveBytes: Int { lock.withLock { book.live } }

    /// The most `liveBytes` has been since creation or the last `resetPeak`.
    public var peakBytes: Int { lock.withLock { book.peak } }

    /// Starts a new peak from what is alive now (e.g. after building the model).
    public func resetPeak() { lock.withLock { book.peak = book.live } }

    func allocated(_ bytes: Int) {
        lock.withLock {
            book.live += bytes
            book.peak = max(book.peak, book.live)
        }
    }

    func freed(_ bytes: Int) { lock.withLock { book.live -= bytes } }
}
