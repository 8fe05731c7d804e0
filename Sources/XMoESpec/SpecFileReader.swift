import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a spec file's text for the YAML parser: bounded in size (a FIFO or `/dev/zero` given as a
/// spec must not grow memory without end), UTF-8 checked with the position of the first bad byte,
/// and line endings normalised to `\n` (CRLF and lone CR files parse and report the same lines as
/// LF files: YAML folds every line break to `\n` inside scalars anyway).
enum SpecFileReader {
    /// The largest spec file accepted. Specs are a few KiB; this is generous and documented in the README.
    static let maximumBytes = 16 << 20

    /// The normalised text of `path`. `shown` is the path as messages print it; `referencedAt` is
    /// where the file was named (an `extends` key), the location of errors that concern the whole file.
    static func readText(_ path: String, shown: String, referencedAt: SpecLocation?, key: String?) throws -> String {
        func fail(_ problem: String) -> SpecError {
            SpecError("cannot read spec file '\(shown)': \(problem)", at: referencedAt, key: key)
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw fail(describeErrno(errno)) }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) != 0 { throw fail(describeErrno(errno)) }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            throw fail("it is a directory; give the path of a YAML spec file")
        }
        var bytes: [UInt8] = []
        let chunk = 1 << 20
        var block = [UInt8](repeating: 0, count: chunk)
        while true {
            if bytes.count > maximumBytes {
                throw fail("it is larger than \(maximumBytes >> 20) MiB, the limit for a spec file "
                           + "(is it the right file? a FIFO or device may never end)")
            }
            let n = block.withUnsafeMutableBytes { read(fd, $0.baseAddress!, chunk) }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail(describeErrno(errno))
            }
            if n == 0 { break }
            bytes.append(contentsOf: block[0..<n])
        }
        if let bad = firstInvalidUTF8(bytes) {
            throw SpecError("not valid UTF-8: byte 0x\(String(bytes[bad.offset], radix: 16, uppercase: true).leftPadded(to: 2)) "
                            + "(byte \(bad.offset + 1) of the file); save the spec as UTF-8",
                            at: .file(path: shown, line: bad.line, column: bad.column))
        }
        return normalizedLineEndings(String(decoding: bytes, as: UTF8.self))
    }

    /// CRLF and lone CR become LF.
    static func normalizedLineEndings(_ text: String) -> String {
        guard text.utf8.contains(0x0D) else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var previousCR = false
        for byte in text.utf8 {
            if byte == 0x0D {
                out.append(0x0A)
                previousCR = true
                continue
            }
            if byte == 0x0A && previousCR {
                previousCR = false
                continue  // the LF of a CRLF already became the line break
            }
            previousCR = false
            out.append(byte)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Byte offset, 1-based line and column (in characters, as the YAML parser counts) of the first
    /// byte that is not part of a valid UTF-8 sequence.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> (offset: Int, line: Int, column: Int)? {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0, line = 1, column = 1
        var previousCR = false
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                let scalar = Unicode.UTF8.decode(encoded)
                offset += encoded.count
                if scalar == "\n" {
                    if !previousCR { line += 1 }
                    column = 1
                } else if scalar == "\r" {
                    line += 1
                    column = 1
                } else {
                    column += 1
                }
                previousCR = scalar == "\r"
            case .error:
                return (offset, line, column)
            case .emptyInput:
                return nil
            }
        }
    }

    static func describeErrno(_ code: Int32) -> String {
        switch code {
        case ENOENT: return "no such file"
        case EACCES, EPERM: return "permission denied"
        case EISDIR: return "it is a directory; give the path of a YAML spec file"
        case ENOTDIR: return "a component of the path is not a directory"
        default: return String(cString: strerror(code)).lowercased()
        }
    }
}
