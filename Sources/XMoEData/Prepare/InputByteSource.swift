import CZlib
import Foundation

/// The bytes of a file, gunzipped when it starts with the gzip magic (`1f 8b`), delivered in
/// large chunks. Several concatenated gzip members (what `cat a.gz b.gz`, pigz and bgzip write)
/// are read as one stream, like `gunzip -c`.
final class InputByteSource {
    let path: String
    /// Size of the file on disk (compressed size for gzip input).
    let totalBytes: Int
    /// Bytes of the file consumed so far (compressed bytes for gzip input).
    private(set) var bytesRead = 0
    let isGzip: Bool

    private let handle: FileHandle
    private let chunkSize: Int
    private var fileAtEnd = false
    private var inflater: GzipInflater?

    init(url: URL, chunkSize: Int = 4 << 20) throws {
        path = url.path
        self.chunkSize = chunkSize
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw PrepareDataError.cannotRead(file: url.path, reason: "it is a directory; data.input must be a JSON-lines file (.jsonl or .jsonl.gz)")
        }
        do {
            handle = try FileHandle(forReadingFrom: url)
            let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
            // A FIFO or device has no size: progress then counts bytes without a total.
            totalBytes = attributes[.type] as? FileAttributeType == .typeRegular ? (attributes[.size] as? NSNumber)?.intValue ?? 0 : 0
        } catch {
            throw PrepareDataError.cannotRead(file: url.path, reason: fileErrorReason(error))
        }
        // The first bytes are kept rather than re-read after a seek: a FIFO cannot seek.
        head = try Self.read(handle, upTo: 2, path: path)
        isGzip = head == Data([0x1f, 0x8b])
        if isGzip { inflater = try GzipInflater(path: path) }
    }

    /// The bytes read to detect gzip, delivered before the rest of the file.
    private var head: Data

    private func nextRead() throws -> Data {
        if !head.isEmpty {
            defer { head = Data() }
            return head + (try Self.read(handle, upTo: chunkSize, path: path))
        }
        return try Self.read(handle, upTo: chunkSize, path: path)
    }

    deinit { try? handle.close() }

    /// Appends the next bytes to `buffer`; false once the file is exhausted.
    func readChunk(into buffer: inout [UInt8]) throws -> Bool {
        guard let inflater else {
            if fileAtEnd { return false }
            let data = try nextRead()
            if data.isEmpty { fileAtEnd = true; return false }
            bytesRead += data.count
            buffer.append(contentsOf: data)
            return true
        }
        while true {
            if inflater.needsInput && !fileAtEnd {
                let data = try nextRead()
                if data.isEmpty { fileAtEnd = true } else { bytesRead += data.count; inflater.supply(data) }
            }
            let produced = try inflater.inflate(into: &buffer, maximum: chunkSize * 4)
            if produced > 0 { return true }
            if fileAtEnd && inflater.needsInput {
                try inflater.finish()
                return false
            }
        }
    }

    private static func read(_ handle: FileHandle, upTo count: Int, path: String) throws -> Data {
        do { return try handle.read(upToCount: count) ?? Data() } catch {
            throw PrepareDataError.cannotRead(file: path, reason: fileErrorReason(error))
        }
    }
}

/// The reason of a Foundation file error in words (its POSIX cause when there is one), never
/// Foundation's bare "The operation could not be completed. (NSCocoaErrorDomain error 256.)".
func fileErrorReason(_ error: Error) -> String {
    let ns = error as NSError
    var code: Int32?
    if ns.domain == NSPOSIXErrorDomain { code = Int32(ns.code) }
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        code = Int32(underlying.code)
    }
    if let code {
        switch code {
        case ENOENT: return "no such file or directory"
        case EISDIR: return "it is a directory, not a file"
        case EACCES, EPERM: return "permission denied"
        default: return String(cString: strerror(code))
        }
    }
    switch ns.code {
    case NSFileNoSuchFileError, NSFileReadNoSuchFileError: return "no such file or directory"
    case NSFileReadNoPermissionError: return "permission denied"
    case NSFileReadUnknownError: return "it cannot be read (is it a directory?)"
    default: return ns.domain == NSCocoaErrorDomain ? "file error \(ns.code)" : "\(error)"
    }
}

/// zlib's inflate in gzip mode, restarted after each member.
private final class GzipInflater {
    private let path: String
    // zlib keeps a pointer back to the stream, so it must not move: heap-allocated once.
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private var input: [UInt8] = []
    private var inputOffset = 0
    /// True between members: a finished member followed by nothing is a complete file.
    private var atMemberBoundary = true

    init(path: String) throws {
        self.path = path
        stream.initialize(to: z_stream())
        let status = inflateInit2_(stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deallocate()
            throw PrepareDataError.corruptGzip(file: path, reason: "inflateInit2 failed (\(status))")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    var needsInput: Bool { inputOffset == input.count }

    func supply(_ data: Data) {
        input = Array(data)
        inputOffset = 0
    }

    /// Inflates what input there is into `buffer`; returns the number of bytes produced.
    func inflate(into buffer: inout [UInt8], maximum: Int) throws -> Int {
        if needsInput { return 0 }
        let start = buffer.count
        buffer.reserveCapacity(start + maximum)
        var produced = 0
        while inputOffset < input.count && produced < maximum {
            let room = min(maximum - produced, 1 << 20)
            buffer.append(contentsOf: repeatElement(0, count: room))
            let (status, consumed, written) = input.withUnsafeMutableBufferPointer { inBytes in
                buffer.withUnsafeMutableBufferPointer { outBytes in
                    stream.pointee.next_in = inBytes.baseAddress! + inputOffset
                    stream.pointee.avail_in = UInt32(inBytes.count - inputOffset)
                    stream.pointee.next_out = outBytes.baseAddress! + start + produced
                    stream.pointee.avail_out = UInt32(room)
                    let status = CZlib.inflate(stream, Z_NO_FLUSH)
                    return (status, inBytes.count - inputOffset - Int(stream.pointee.avail_in),
                            room - Int(stream.pointee.avail_out))
                }
            }
            buffer.removeLast(room - written)
            inputOffset += consumed
            produced += written
            if consumed > 0 || written > 0 { atMemberBoundary = false }
            switch status {
            case Z_STREAM_END:
                inflateReset(stream)
                atMemberBoundary = true
            case Z_OK:
                continue
            case Z_BUF_ERROR where consumed == 0 && written == 0:
                return produced
            default:
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                throw PrepareDataError.corruptGzip(file: path, reason: message)
            }
        }
        return produced
    }

    /// Called at the end of the file: fails when it ends inside a member.
    func finish() throws {
        if !atMemberBoundary {
            throw PrepareDataError.corruptGzip(file: path, reason: "the file ends inside a gzip member")
        }
    }
}
