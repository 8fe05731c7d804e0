import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SHA-256 of file contents and raw buffers through swift-crypto (BoringSSL, which uses the CPU's
/// SHA extensions where present). Data identity and checkpoint checksums hash every byte they vouch
/// for, so they need this speed; `SHA256` (ours) stays for short key material.
public enum ContentDigest {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let path: String
        public let problem: String
        public var description: String { "\(path): \(problem)" }
    }

    /// Lower-case hex SHA-256 of the file's bytes, read in 4 MiB pieces (no whole-file copy).
    public static func sha256(fileAt path: String) throws -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw Failure(path: path, problem: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var hasher = Crypto.SHA256()
        let capacity = 4 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer.baseAddress, capacity)
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(path: path, problem: "cannot read: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return hasher.finalize().hexString
    }

    /// Lower-case hex SHA-256 of raw bytes.
    public static func sha256(_ bytes: UnsafeRawBufferPointer) -> String {
        Crypto.SHA256.hash(data: bytes).hexString
    }

    /// Lower-case hex SHA-256 of an array's in-memory bytes (little-endian on every supported CPU).
    public static func sha256<T: BitwiseCopyable>(of values: [T]) -> String {
        values.withUnsafeBytes { sha256($0) }
    }
}
