import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files and directories that xmoe writes under a temporary name and renames when whole all carry the
/// writer's pid: `NAME.tmp-PID`, `NAME.tmp-PID-N` (atomic writes, `.npy` caches, dataset writers,
/// checkpoint directories). A process that dies before the rename (SIGKILL, a signal handled with
/// `_exit`) leaves them; they are garbage once that pid is gone, and the next process to take the
/// directory's lock removes them.
public enum StaleTemporaries {
    /// The pid a temporary name carries, or nil for any other name.
    public static func writerPID(_ name: String) -> Int32? {
        guard let marker = name.range(of: ".tmp-", options: .backwards) else { return nil }
        let rest = name[marker.upperBound...].split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(rest.count), rest.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else { return nil }
        return Int32(rest[0])
    }

    public static func isAlive(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }

    /// Removes, under `root` (recursively, not following links), every temporary of a process that is
    /// gone. Returns the paths removed, relative to `root`.
    @discardableResult
    public static func remove(under root: URL) -> [String] {
        var removed: [String] = []
        let manager = FileManager.default
        guard let walker = manager.enumerator(at: root, includingPropertiesForKeys: nil, options: []) else { return [] }
        for case let url as URL in walker {
            guard let pid = writerPID(url.lastPathComponent), pid != getpid(), !isAlive(pid) else { continue }
            if (try? manager.removeItem(at: url)) != nil {
                removed.append(String(url.path.dropFirst(root.path.count + 1)))
                walker.skipDescendants()
            }
        }
        return removed
    }
}
