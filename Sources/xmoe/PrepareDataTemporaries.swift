import Foundation
import XMoEPipeline

#if canImport(Glibc)
import Glibc
#endif

/// The temporary files `IndexedDatasetWriter` writes next to an output prefix
/// (`PREFIX_<key>_document.bin.tmp-<pid>-<n>`, `.idx.tmp-…`) until it renames them into place. A run
/// stopped by a signal removes its own; one killed outright leaves them, and the next run with the
/// same prefix removes those whose process is gone.
enum PrepareDataTemporaries {
    /// The temporaries of `prefix` with the pid that wrote each.
    static func list(prefix: String) -> [(url: URL, pid: Int32)] {
        let prefixURL = URL(fileURLWithPath: prefix)
        let directory = prefixURL.deletingLastPathComponent()
        let stem = prefixURL.lastPathComponent + "_"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.compactMap { name in
            guard name.hasPrefix(stem), name.contains(".bin.tmp-") || name.contains(".idx.tmp-"),
                  let pid = StaleTemporaries.writerPID(name) else { return nil }
            return (directory.appendingPathComponent(name), pid)
        }
    }

    /// Removes temporaries of processes that no longer exist; returns how many.
    @discardableResult
    static func removeStale(prefix: String) -> Int {
        var removed = 0
        for (url, pid) in list(prefix: prefix) where pid != getpid() && !StaleTemporaries.isAlive(pid) {
            if (try? FileManager.default.removeItem(at: url)) != nil { removed += 1 }
        }
        return removed
    }

    /// Removes this process's own temporaries (on the way out after a signal).
    static func removeOwn(prefix: String) {
        for (url, pid) in list(prefix: prefix) where pid == getpid() {
            try? FileManager.default.removeItem(at: url)
        }
    }
}
