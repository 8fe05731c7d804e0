import Foundation

/// Where prepared documents go, one sink per json key, fed in document order.
protocol DocumentSink {
    /// One document: its tokens and how they split into sequences (sentences); a document with
    /// no tokens has no sequences but still counts as a document.
    mutating func addDocument(tokens: ArraySlice<Int32>, sequenceLengths: ArraySlice<Int32>) throws
    /// Writes what is buffered and the index; the files are complete afterwards.
    mutating func finish() throws
}

/// Writes Megatron's MMIDIDX v1 pair (`.bin` tokens, `.idx` index) exactly as megatron-core's
/// `IndexedDatasetBuilder.add_document` + `finalize` do, with GPT-2's token dtype rule
/// (uint16 when the vocabulary has fewer than 65 500 entries, else int32).
struct MegatronDocumentSink: DocumentSink {
    let binURL: URL
    let idxURL: URL
    private let binHandle: FileHandle
    private let itemSize: Int
    private let dtypeCode: UInt8
    private var binBuffer: [UInt8] = []
    private var sequenceLengths: [Int32] = []
    private var documentIndex: [Int64] = [0]

    init(binURL: URL, idxURL: URL, vocabularySize: Int) throws {
        self.binURL = binURL
        self.idxURL = idxURL
        (itemSize, dtypeCode) = vocabularySize < 65_500 ? (2, 8) : (4, 4)
        guard FileManager.default.createFile(atPath: binURL.path, contents: nil) else {
            throw PrepareDataError.cannotWrite(file: binURL.path, reason: "cannot create the file")
        }
        binHandle = try FileHandle(forWritingTo: binURL)
    }

    mutating func addDocument(tokens: ArraySlice<Int32>, sequenceLengths lengths: ArraySlice<Int32>) throws {
        if itemSize == 2 {
            for token in tokens { Self.append(UInt16(truncatingIfNeeded: token), to: &binBuffer) }
        } else {
            for token in tokens { Self.append(token, to: &binBuffer) }
        }
        sequenceLengths.append(contentsOf: lengths)
        documentIndex.append(Int64(sequenceLengths.count))
        if binBuffer.count >= 1 << 22 { try flush() }
    }

    mutating func finish() throws {
        try flush()
        try binHandle.close()
        var index: [UInt8] = Array("MMIDIDX\0\0".utf8)
        Self.append(UInt64(1), to: &index)
        index.append(dtypeCode)
        Self.append(UInt64(sequenceLengths.count), to: &index)
        Self.append(UInt64(documentIndex.count), to: &index)
        for length in sequenceLengths { Self.append(length, to: &index) }
        var pointer: Int64 = 0
        for length in sequenceLengths {
            Self.append(pointer, to: &index)
            pointer += Int64(length) * Int64(itemSize)
        }
        for entry in documentIndex { Self.append(entry, to: &index) }
        do { try Data(index).write(to: idxURL) } catch {
            throw PrepareDataError.cannotWrite(file: idxURL.path, reason: error.localizedDescription)
        }
    }

    private mutating func flush() throws {
        do { try binHandle.write(contentsOf: binBuffer) } catch {
            throw PrepareDataError.cannotWrite(file: binURL.path, reason: error.localizedDescription)
        }
        binBuffer.removeAll(keepingCapacity: true)
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}
