/// Read-only view of a Megatron MMIDIDX v1 dataset (`PREFIX.idx` + `PREFIX.bin`), both mapped
/// with mmap. Opening validates the whole index against both file lengths, so every later read
/// is in bounds; a damaged file is a thrown `IndexedDatasetError`, never a crash or a wrong read.
public final class IndexedDataset: Sendable {
    public let prefix: String
    public let dtype: IndexedTokenDType
    /// Number of sequences (entries of the sizes/pointers arrays).
    public let sequenceCount: Int
    /// Number of documents (document index entries minus the leading 0).
    public let documentCount: Int
    /// Whether the optional megatron-core multimodal modes array is present.
    public let hasModes: Bool

    let index: MappedFile
    let data: MappedFile
    let header: IndexFileHeader

    public var indexPath: String { index.path }
    public var dataPath: String { data.path }

    /// - Parameter multimodal: whether a modes array follows the document index; nil infers it
    ///   from the file length (megatron-core's header does not record it).
    public init(prefix: String, multimodal: Bool? = nil) throws {
        self.prefix = prefix
        index = try MappedFile(path: prefix + ".idx")
        data = try MappedFile(path: prefix + ".bin")
        header = try IndexFileHeader(file: index, multimodal: multimodal)
        dtype = header.dtype
        sequenceCount = header.sequenceCount
        documentCount = header.documentIndexCount - 1
        hasModes = header.hasModes
        try validateArrays()
    }

    /// Megatron's writers (megatron-core `_IndexWriter`, Megatron-DeepSpeed's builder, and their
    /// merges) lay sequences end to end from byte 0 and nothing else into the `.bin`, so each pointer
    /// must be where the previous sequence ends and the last one must end at the `.bin`'s length.
    /// That catches a changed dtype code (another width), a changed length and a truncated or
    /// extended `.bin`, none of which bounds checks alone would notice.
    private func validateArrays() throws {
        let itemSize = Int64(dtype.byteWidth)
        let binLength = Int64(data.count)
        var expected: Int64 = 0
        for i in 0..<sequenceCount {
            let size = Int64(sequenceLength(i))
            let pointer = Int64(index.load(at: header.pointersOffset + 8 * i, as: Int64.self))
            guard size >= 0 else {
                throw IndexedDatasetError(path: index.path, problem: "sequence \(i) has negative length \(size)")
            }
            // size < 2^31 and itemSize ≤ 4, so size*itemSize cannot overflow; the sum is checked.
            let (end, overflow) = pointer.addingReportingOverflow(size * itemSize)
            guard pointer >= 0, !overflow, end <= binLength else {
                throw IndexedDatasetError(path: index.path, problem: "sequence \(i) (pointer \(pointer), \(size) tokens of \(itemSize) bytes) lies outside \(data.path), which has \(binLength) bytes")
            }
            guard pointer == expected else {
                throw IndexedDatasetError(path: index.path, problem: "sequence \(i) starts at byte \(pointer) of \(data.path), "
                    + "but the sequences before it end at byte \(expected) (\(itemSize)-byte tokens, dtype code \(dtype.rawValue)): "
                    + "the sequence lengths, pointers or dtype code are not those the data was written with")
            }
            expected = end
        }
        guard expected == binLength else {
            throw IndexedDatasetError(path: data.path, problem: "holds \(binLength) bytes, but \(index.path) describes "
                + "\(sequenceCount) sequences of \(itemSize)-byte tokens ending at byte \(expected): "
                + (expected < binLength ? "the index and data do not belong together (or a length or dtype code changed)"
                                        : "the file is truncated"))
        }
        var previous: Int64 = 0
        for j in 0..<header.documentIndexCount {
            let value = index.load(at: header.documentIndexOffset + 8 * j, as: Int64.self)
            guard j > 0 || value == 0 else {
                throw IndexedDatasetError(path: index.path, problem: "document index must start at 0, found \(value)")
            }
            guard value >= previous else {
                throw IndexedDatasetError(path: index.path, problem: "document index decreases at entry \(j) (\(previous) then \(value))")
            }
            previous = value
        }
        guard previous == Int64(sequenceCount) else {
            throw IndexedDatasetError(path: index.path, problem: "document index ends at \(previous) but there are \(sequenceCount) sequences")
        }
    }

    /// Length in tokens of sequence `i`.
    public func sequenceLength(_ i: Int) -> Int {
        precondition(i >= 0 && i < sequenceCount, "sequence \(i) out of range 0..<\(sequenceCount)")
        return Int(index.load(at: header.sizesOffset + 4 * i, as: Int32.self))
    }

    /// Byte offset of sequence `i` in the `.bin`.
    public func sequencePointer(_ i: Int) -> Int {
        precondition(i >= 0 && i < sequenceCount, "sequence \(i) out of range 0..<\(sequenceCount)")
        return Int(index.load(at: header.pointersOffset + 8 * i, as: Int64.self))
    }

    /// All sequence lengths (a copy of the i32 sizes array).
    public var sequenceLengths: [Int32] {
        (0..<sequenceCount).map { index.load(at: header.sizesOffset + 4 * $0, as: Int32.self) }
    }

    /// Entry `j` of the document index: document `j` is sequences `documentIndex(j) ..< documentIndex(j+1)`.
    public func documentIndex(_ j: Int) -> Int {
        precondition(j >= 0 && j <= documentCount, "document index entry \(j) out of range 0...\(documentCount)")
        return Int(index.load(at: header.documentIndexOffset + 8 * j, as: Int64.self))
    }

    /// The whole document index (documentCount + 1 entries, starting at 0, ending at sequenceCount).
    public var documentIndices: [Int64] {
        (0...documentCount).map { index.load(at: header.documentIndexOffset + 8 * $0, as: Int64.self) }
    }

    /// Mode of sequence `i` (multimodal datasets only).
    public func mode(of i: Int) -> Int8? {
        guard hasModes else { return nil }
        precondition(i >= 0 && i < sequenceCount, "sequence \(i) out of range 0..<\(sequenceCount)")
        return index.load(at: header.modesOffset + i, as: Int8.self)
    }

    /// `length` tokens of sequence `sequence` starting at token `offset` (default: to its end),
    /// like megatron's `IndexedDataset.get(idx, offset, length)`.
    public func tokens(of sequence: Int, offset: Int = 0, length: Int? = nil) -> [Int32] {
        var out: [Int32] = []
        appendTokens(of: sequence, offset: offset, length: length, to: &out)
        return out
    }

    /// As `tokens(of:offset:length:)`, appending to `out` (avoids one array per piece).
    public func appendTokens(of sequence: Int, offset: Int = 0, length: Int? = nil, to out: inout [Int32]) {
        let size = sequenceLength(sequence)
        let count = length ?? (size - offset)
        precondition(offset >= 0 && count >= 0 && offset + count <= size,
                     "tokens \(offset)..<\(offset + count) out of range of sequence \(sequence) (\(size) tokens)")
        guard count > 0 else { return }
        let start = sequencePointer(sequence) + offset * dtype.byteWidth
        out.reserveCapacity(out.count + count)
        switch dtype {
        case .uint16:
            for k in 0..<count { out.append(Int32(data.load(at: start + 2 * k, as: UInt16.self))) }
        case .int32:
            for k in 0..<count { out.append(data.load(at: start + 4 * k, as: Int32.self)) }
        case .uint8:
            for k in 0..<count { out.append(Int32(data.load(at: start + k, as: UInt8.self))) }
        case .int8:
            for k in 0..<count { out.append(Int32(data.load(at: start + k, as: Int8.self))) }
        case .int16:
            for k in 0..<count { out.append(Int32(data.load(at: start + 2 * k, as: Int16.self))) }
        case .int64, .float32, .float64:
            fatalError("IndexFileHeader admits only dtypes that hold Int32 tokens")
        }
    }
}
