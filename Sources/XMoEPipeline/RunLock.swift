import Foundation

/// Holds `<run dir>/.lock` so two xmoe processes never write one run directory's records at once.
/// Released by `release()` or when the value goes away; a process that dies drops it with its
/// descriptors, so a stale `.lock` file never blocks anyone.
public final class RunLock: Sendable {
    public let runDirectory: RunDirectory
    /// The pid the lock file named before this lock was taken: the last process that worked here.
    public let previousHolder: Int32?
    private let fileLock: FileLock

    /// Throws `PipelineError.runDirectoryInUse` at once (no waiting) when another holder has it.
    public init(runDirectory: RunDirectory) throws {
        let url = RunLock.url(of: runDirectory)
        previousHolder = FileLock.holderPID(url)
        guard let fileLock = try FileLock.tryAcquire(url) else {
            throw PipelineError.runDirectoryInUse(path: runDirectory.root.path, pid: FileLock.holderPID(url))
        }
        self.runDirectory = runDirectory
        self.fileLock = fileLock
    }

    public func release() {
        fileLock.release()
    }

    static func url(of runDirectory: RunDirectory) -> URL {
        runDirectory.root.appendingPathComponent(".lock")
    }
}
