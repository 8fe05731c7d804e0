import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file writes that never leave a torn file at the final name: the bytes go to a temporary
/// sibling, are fsynced, then renamed over the target, so a reader (or a crash) sees the old file
/// or the new one.
public enum AtomicWrite {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func write(_ text: String, to url: URL) throws {
        try write(Data(text.utf8), to: url)
    }

    public static func write(_ data: Data, to url: URL) throws {
        let directory = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let temporary = directory.appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else {
            throw Failure(description: "cannot create \(temporary.path): \(String(cString: strerror(errno)))")
        }
        var written = 0
        let failure: String? = data.withUnsafeBytes { raw -> String? in
            while written < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return String(cString: strerror(errno))
                }
                written += n
            }
            return fsync(fd) == 0 ? nil : String(cString: strerror(errno))
        }
        close(fd)
        if let failure {
            unlink(temporary.path)
            throw Failure(description: "cannot write \(temporary.path): \(failure)")
        }
        if rename(temporary.path, url.path) != 0 {
            let message = String(cString: strerror(errno))
            unlink(temporary.path)
            throw Failure(description: "cannot rename \(temporary.path) to \(url.path): \(message)")
        }
    }
}
