import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive flock(2) on a lock file that names its holder's pid. The kernel drops the lock when
/// the descriptor closes or the process dies, so a lock file left by a dead process is harmless and
/// is never deleted (deleting would let two processes lock two different inodes of one path). Locks
/// conflict between open file descriptions, so two `FileLock`s of one process exclude each other too.
final class FileLock: @unchecked Sendable {
    let url: URL
    private let stateLock = NSLock()
    private var descriptor: Int32

    private init(url: URL, descriptor: Int32) {
        self.url = url
        self.descriptor = descriptor
    }

    deinit {
        release()
    }

    /// The lock, or nil when another holder has it.
    static func tryAcquire(_ url: URL) throws -> FileLock? {
        let descriptor = try open(url)
        do {
            guard try lock(descriptor, url: url, blocking: false) else {
                Glibc.close(descriptor)
                return nil
            }
        } catch {
            Glibc.close(descriptor)
            throw error
        }
        return try acquired(url, descriptor: descriptor)
    }

    /// Waits as long as another holder keeps it.
    static func acquire(_ url: URL) throws -> FileLock {
        let descriptor = try open(url)
        do {
            _ = try lock(descriptor, url: url, blocking: true)
        } catch {
            Glibc.close(descriptor)
            throw error
        }
        return try acquired(url, descriptor: descriptor)
    }

    /// The pid the current (or last) holder wrote, if any; reads without locking. A holder writes its
    /// pid just after taking the lock, so an empty file is read again for up to 0.1 s.
    static func holderPID(_ url: URL) -> Int32? {
        for _ in 0..<20 {
            guard let text = try? String(contentsOf: url, encoding: .utf8) else { return nil }
            if let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) { return pid }
            usleep(5_000)
        }
        return nil
    }

    /// Whether someone holds the lock now. Creates nothing: a missing lock file means nobody does.
    static func isHeld(_ url: URL) -> Bool {
        let descriptor = Glibc.open(url.path, O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { Glibc.close(descriptor) }
        return (try? lock(descriptor, url: url, blocking: false)) == false
    }

    func release() {
        stateLock.lock()
        defer { stateLock.unlock() }
        guard descriptor >= 0 else { return }
        Glibc.close(descriptor)  // also drops the flock
        descriptor = -1
    }

    private static func open(_ url: URL) throws -> Int32 {
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        // No O_TRUNC: the file may belong to a live holder whose pid a waiter wants to read.
        let descriptor = Glibc.open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw PipelineError.io("cannot open lock file \(url.path): \(String(cString: strerror(errno)))")
        }
        return descriptor
    }

    /// True when locked, false when `blocking` is false and another holder has it.
    private static func lock(_ descriptor: Int32, url: URL, blocking: Bool) throws -> Bool {
        while flock(descriptor, LOCK_EX | (blocking ? 0 : LOCK_NB)) != 0 {
            if errno == EINTR { continue }
            if errno == EWOULDBLOCK { return false }
            throw PipelineError.io("cannot lock \(url.path): \(String(cString: strerror(errno)))")
        }
        return true
    }

    private static func acquired(_ url: URL, descriptor: Int32) throws -> FileLock {
        let lock = FileLock(url: url, descriptor: descriptor)
        let pid = Array("\(getpid())\n".utf8)
        let written = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        guard ftruncate(descriptor, off_t(pid.count)) == 0, written == pid.count else {
            throw PipelineError.io("cannot write pid into lock file \(url.path): \(String(cString: strerror(errno)))")
        }
        return lock
    }
}
