import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The exclusive flock a metrics writer takes on `metrics.h5` while it appends, on a descriptor of its
/// own (flock belongs to the open file description, so HDF5's descriptors neither take nor drop it).
///
/// It is the lock HDF5 itself uses: a reader that opens the file with HDF5's default file locking
/// (h5py's `File(path, "r")`, `h5dump`) takes a shared flock for as long as it keeps the file open.
/// So a reader either opens a closed, consistent file, or fails at once with HDF5's "unable to lock
/// file" during the few milliseconds of an append (and simply retries); a writer never changes the
/// file under an open reader.
struct MetricsFileLock {
    private let fd: Int32

    /// Takes the lock without waiting; nil while a reader holds the file open (or it cannot be opened).
    static func tryAcquire(path: String) -> MetricsFileLock? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { return MetricsFileLock(fd: fd) }
        close(fd)
        return nil
    }

    /// Waits up to `seconds` for the lock, polling; nil if readers still hold the file.
    static func acquire(path: String, waitingUpTo seconds: Double) -> MetricsFileLock? {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let lock = tryAcquire(path: path) { return lock }
            if Date() >= deadline { return nil }
            usleep(20_000)
        }
    }

    func release() {
        _ = flock(fd, LOCK_UN)
        close(fd)
    }
}
