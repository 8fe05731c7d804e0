import Foundation

/// Writes a Megatron MMIDIDX v1 dataset byte-identical to megatron-core's `IndexedDatasetBuilder`
/// for the same tokens. Tokens stream into a temporary `.bin`; `finalize()` writes the `.idx`
/// to a temporary name and renames `.bin` then `.idx` into place. The `.idx` is renamed last and
/// any old one is removed first, so a crash never leaves a complete-looking pair.
public final class IndexedDatasetWriter {
    public let prefix: String
    public let dtype: IndexedTokenDType
    public let multimodal: Bool

    private let binTemporaryPath: String
    private let idxTemporaryPath: String
    private let bin: FileHandle
    private var buffer: [UInt8] = []
    private var sequenceLengths: [Int32] = []
    private var documentIndices: [Int64] = [0]
    private var modes: [Int8] = []
    private var finalized = false

    private static let flushThreshold = 1 << 20

    /// - Parameter vocabularySize: the tokenizer's unpadded size; picks uint16 below 65500, else int32.
    public convenience init(prefix: String, vocabularySize: Int, multimodal: Bool = false) throws {
        try self.init(prefix: prefix, dtype: .optimal(forVocabularySize: vocabularySize), multimodal: multimodal)
    }

    public init(prefix: String, dtype: IndexedTokenDType, multimodal: Bool = false) throws {
        guard dtype.holdsInt32Tokens else {
            throw IndexedDatasetError(path: prefix + ".bin", problem: "dtype \(dtype) cannot hold Int32 token ids; use uint16 or int32")
        }
        self.prefix = prefix
        self.dtype = dtype
        self.multimodal = multimodal
        let tag = "\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
        binTemporaryPath = "\(prefix).bin.tmp-\(tag)"
        idxTemporaryPath = "\(prefix).idx.tmp-\(tag)"
        guard FileManager.default.createFile(atPath: binTemporaryPath, contents: nil),
              let handle = FileHandle(forWritingAtPath: binTemporaryPath) else {
            throw IndexedDatasetError(path: binTemporaryPath, problem: "cannot create (does the directory exist and is it writable?)")
        }
        bin = handle
    }

    deinit {
        if !finalized {
            try? bin.close()
            try? FileManager.default.removeItem(atPath: binTemporaryPath)
        }
    }

    /// Appends one sequence (one sizes entry) to the current document.
    public func add(sequence: some Collection<Int32>, mode: Int8 = 0) throws {
        precondition(!finalized, "IndexedDatasetWriter used after finalize()")
        let range = dtype.tokenRange
        for (k, token) in sequence.enumerated() where !range.contains(Int64(token)) {
            throw IndexedDatasetError(path: prefix + ".bin", problem: "token \(token) at position \(k) of sequence \(sequenceLengths.count) does not fit dtype \(dtype); choose a wider dtype (vocabulary size ≥ 65500 ⇒ int32)")
        }
        guard sequence.count <= Int(Int32.max) else {
            throw IndexedDatasetError(path: prefix + ".idx", problem: "sequence \(sequenceLengths.count) has \(sequence.count) tokens, more than an i32 size can record")
        }
        switch dtype {
        case .uint16: for token in sequence { appendLittleEndian(UInt16(token), to: &buffer) }
        case .int32: for token in sequence { appendLittleEndian(token, to: &buffer) }
        case .uint8: for token in sequence { buffer.append(UInt8(token)) }
        case .int8: for token in sequence { buffer.append(UInt8(bitPattern: Int8(token))) }
        case .int16: for token in sequence { appendLittleEndian(Int16(token), to: &buffer) }
        case .int64, .float32, .float64: fatalError("rejected in init")
        }
        sequenceLengths.append(Int32(sequence.count))
        if multimodal { modes.append(mode) }
        if buffer.count >= Self.flushThreshold { try flush() }
    }

    /// Closes the current document (an empty one if no sequence was added since the last call).
    public func endDocument() {
        precondition(!finalized, "IndexedDatasetWriter used after finalize()")
        documentIndices.append(Int64(sequenceLengths.count))
    }

    /// Adds the sequences of one document, then ends it.
    public func addDocument(sequences: [[Int32]], modes: [Int8]? = nil) throws {
        precondition(modes == nil || modes!.count == sequences.count, "one mode per sequence")
        for (i, sequence) in sequences.enumerated() {
            try add(sequence: sequence, mode: modes?[i] ?? 0)
        }
        endDocument()
    }

    /// Number of sequences added so far.
    public var sequenceCount: Int { sequenceLengths.count }

    public func finalize() throws {
        precondition(!finalized, "finalize() called twice")
        try flush()
        try bin.synchronize()
        try bin.close()

        var idx = IndexFileHeader.encode(dtype: dtype, sequenceCount: sequenceLengths.count,
                                         documentIndexCount: documentIndices.count)
        idx.reserveCapacity(idx.count + 12 * sequenceLengths.count + 8 * documentIndices.count + modes.count)
        for size in sequenceLengths { appendLittleEndian(size, to: &idx) }
        var pointer: Int64 = 0
        let itemSize = Int64(dtype.byteWidth)
        for size in sequenceLengths {
            appendLittleEndian(pointer, to: &idx)
            pointer += Int64(size) * itemSize
        }
        for entry in documentIndices { appendLittleEndian(entry, to: &idx) }
        for mode in modes { idx.append(UInt8(bitPattern: mode)) }
        do {
            try Data(idx).write(to: URL(fileURLWithPath: idxTemporaryPath))
        } catch {
            throw IndexedDatasetError(path: idxTemporaryPath, problem: "cannot write: \(error.localizedDescription)")
        }
        try replace(prefix + ".idx", with: nil)
        try replace(prefix + ".bin", with: binTemporaryPath)
        try replace(prefix + ".idx", with: idxTemporaryPath)
        finalized = true
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        do {
            try bin.write(contentsOf: buffer)
        } catch {
            throw IndexedDatasetError(path: binTemporaryPath, problem: "cannot write: \(error.localizedDescription)")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Removes `path`, then (if given) renames `source` to it. POSIX rename replaces atomically.
    private func replace(_ path: String, with source: String?) throws {
        if let source {
            guard rename(source, path) == 0 else {
                throw IndexedDatasetError(path: path, problem: "cannot rename \(source) into place: \(String(cString: strerror(errno)))")
            }
        } else if unlink(path) != 0 && errno != ENOENT {
            throw IndexedDatasetError(path: path, problem: "cannot remove the old index: \(String(cString: strerror(errno)))")
        }
    }
}
