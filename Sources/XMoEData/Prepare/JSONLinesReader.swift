import Foundation

/// Consecutive lines of a JSON-lines file, copied into one buffer so a worker can own them.
public struct JSONLinesBatch: Sendable {
    /// 1-based number of the first line in the file.
    public let firstLineNumber: Int
    public let bytes: [UInt8]
    /// `bytes[lineBounds[i] ..< lineBounds[i + 1]]` is line `firstLineNumber + i` without its terminator.
    let lineStarts: [Int]
    let lineEnds: [Int]

    public var lineCount: Int { lineStarts.count }

    public func line(_ index: Int) -> ArraySlice<UInt8> { bytes[lineStarts[index] ..< lineEnds[index]] }
}

/// Reads a `.jsonl` or gzip-compressed `.jsonl.gz` file in large chunks and splits it into lines
/// the way Python's text-mode file iteration does (universal newlines: `\n`, `\r\n` and a lone
/// `\r` all end a line; a last line without terminator still counts). Line numbers are 1-based,
/// as in an editor. UTF-8 is checked per line by `JSONLineFields.extract`, so that the check runs
/// on the worker threads; `nextLine()` checks it itself.
public final class JSONLinesReader {
    /// The longest line accepted (64 MiB; documented in the README). A corpus line is one document;
    /// without a bound, a FIFO or `/dev/zero` given as input would grow the buffer until memory runs out.
    public static let defaultMaximumLineBytes = 64 << 20

    public let path: String
    /// A line longer than this many bytes fails the read (`PrepareDataError.cannotRead`).
    public let maximumLineBytes: Int
    private let source: InputByteSource
    private var buffer: [UInt8] = []
    private var scanStart = 0
    private var sourceAtEnd = false
    private var nextLineNumber = 1

    public init(url: URL, chunkSize: Int = 4 << 20, maximumLineBytes: Int = JSONLinesReader.defaultMaximumLineBytes) throws {
        path = url.path
        self.maximumLineBytes = maximumLineBytes
        source = try InputByteSource(url: url, chunkSize: chunkSize)
    }

    /// Bytes of the file consumed so far (compressed bytes for gzip input).
    public var bytesRead: Int { source.bytesRead }
    /// Size of the file on disk.
    public var totalBytes: Int { source.totalBytes }
    public var isGzip: Bool { source.isGzip }

    /// The next line with its 1-based number, checked to be UTF-8; nil at end of file.
    public func nextLine() throws -> (number: Int, text: String)? {
        guard let batch = try nextBatch(targetBytes: 0, maximumLines: 1) else { return nil }
        let line = batch.line(0)
        if let offset = UTF8Validation.firstInvalidByteOffset(line) {
            throw PrepareDataError.badLine(file: path, line: batch.firstLineNumber, kind: .invalidUTF8,
                                           detail: "invalid UTF-8 at byte \(offset + 1) of the line")
        }
        return (batch.firstLineNumber, String(decoding: line, as: UTF8.self))
    }

    /// Whole lines totalling about `targetBytes` (at least one line); nil at end of file.
    public func nextBatch(targetBytes: Int, maximumLines: Int = .max) throws -> JSONLinesBatch? {
        var starts: [Int] = []
        var ends: [Int] = []
        var batchStart = scanStart
        var position = scanStart
        var lineStart = scanStart
        while true {
            if position == buffer.count {
                if sourceAtEnd {
                    if lineStart < buffer.count {  // last line without terminator
                        starts.append(lineStart)
                        ends.append(buffer.count)
                        lineStart = buffer.count
                    }
                    break
                }
                if !starts.isEmpty && buffer.count - batchStart >= targetBytes { break }
                if buffer.count - lineStart > maximumLineBytes { throw lineTooLong(number: nextLineNumber + starts.count) }
                try refill(&batchStart, &position, &lineStart, &starts, &ends)
                continue
            }
            position = Self.nextLineBreak(in: buffer, from: position)
            if position == buffer.count { continue }
            let byte = buffer[position]
            if byte == 0x0D && position + 1 == buffer.count && !sourceAtEnd {
                // A `\r` at the end of the buffer may be the first half of `\r\n`.
                try refill(&batchStart, &position, &lineStart, &starts, &ends)
                continue
            }
            if position - lineStart > maximumLineBytes { throw lineTooLong(number: nextLineNumber + starts.count) }
            starts.append(lineStart)
            ends.append(position)
            position += (byte == 0x0D && position + 1 < buffer.count && buffer[position + 1] == 0x0A) ? 2 : 1
            lineStart = position
            if starts.count >= maximumLines || position - batchStart >= targetBytes { break }
        }
        guard !starts.isEmpty else { return nil }
        let base = starts[0]
        let batch = JSONLinesBatch(firstLineNumber: nextLineNumber, bytes: Array(buffer[base ..< lineStart]),
                                   lineStarts: starts.map { $0 - base }, lineEnds: ends.map { $0 - base })
        nextLineNumber += starts.count
        scanStart = lineStart
        return batch
    }

    private func lineTooLong(number: Int) -> PrepareDataError {
        // Not a skippable bad line: reading past it would need the unbounded memory the limit prevents.
        .cannotRead(file: path, reason: "line \(number) is longer than \(maximumLineBytes >> 20) MiB, the limit for one "
                    + "document (is the input a JSON-lines file? a FIFO or device may never end)")
    }

    /// Index of the first `\n` or `\r` at or after `start`, or `bytes.count`.
    private static func nextLineBreak(in bytes: [UInt8], from start: Int) -> Int {
        bytes.withUnsafeBufferPointer { buffer in
            var i = start
            while i < buffer.count {
                let byte = buffer[i]
                if byte <= 0x0D && (byte == 0x0A || byte == 0x0D) { return i }
                i += 1
            }
            return buffer.count
        }
    }

    /// Drops the consumed bytes before the batch being built, appends the next chunk, and
    /// shifts the batch's cursors by what was dropped.
    private func refill(_ batchStart: inout Int, _ position: inout Int, _ lineStart: inout Int,
                        _ starts: inout [Int], _ ends: inout [Int]) throws {
        let shift = batchStart
        if shift > 0 {
            buffer.removeFirst(shift)
            scanStart -= shift
            batchStart = 0
            position -= shift
            lineStart -= shift
            for i in starts.indices { starts[i] -= shift; ends[i] -= shift }
        }
        if try !source.readChunk(into: &buffer) { sourceAtEnd = true }
    }
}
