/// The fixed 34-byte header of an MMIDIDX v1 `.idx` file and the byte offsets of the arrays
/// that follow it (reference notes §1.1): i32 sizes, i64 pointers, i64 document index,
/// optional i8 modes. There is no padding, so the arrays are unaligned.
struct IndexFileHeader {
    static let magic: [UInt8] = [0x4D, 0x4D, 0x49, 0x44, 0x49, 0x44, 0x58, 0x00, 0x00]  // "MMIDIDX\0\0"
    static let legacyMagic: [UInt8] = [0x54, 0x4E, 0x54, 0x49, 0x44, 0x58, 0x00, 0x00]  // "TNTIDX\0\0"
    static let byteCount = 34

    let dtype: IndexedTokenDType
    let sequenceCount: Int
    /// Entries in the document index (documents + 1).
    let documentIndexCount: Int
    let hasModes: Bool

    var sizesOffset: Int { Self.byteCount }
    var pointersOffset: Int { sizesOffset + 4 * sequenceCount }
    var documentIndexOffset: Int { pointersOffset + 8 * sequenceCount }
    var modesOffset: Int { documentIndexOffset + 8 * documentIndexCount }

    static func encode(dtype: IndexedTokenDType, sequenceCount: Int, documentIndexCount: Int) -> [UInt8] {
        var bytes = magic
        appendLittleEndian(UInt64(1), to: &bytes)
        bytes.append(dtype.rawValue)
        appendLittleEndian(UInt64(sequenceCount), to: &bytes)
        appendLittleEndian(UInt64(documentIndexCount), to: &bytes)
        return bytes
    }

    /// Reads and checks everything the header promises against the file length.
    /// `multimodal`: nil infers the optional modes array from the length (the header does not say).
    init(file: MappedFile, multimodal: Bool?) throws {
        func fail(_ problem: String) -> IndexedDatasetError {
            IndexedDatasetError(path: file.path, problem: problem)
        }
        let length = file.count
        if length >= Self.legacyMagic.count,
           (0..<Self.legacyMagic.count).allSatisfy({ file.load(at: $0, as: UInt8.self) == Self.legacyMagic[$0] }) {
            throw fail("legacy Megatron 'lazy'/'cached' (TNTIDX) index; only MMIDIDX (--dataset-impl mmap) is supported: re-run preprocessing with mmap")
        }
        guard length >= Self.byteCount else {
            throw fail("truncated header: file has \(length) bytes, an MMIDIDX header needs \(Self.byteCount)")
        }
        guard (0..<Self.magic.count).allSatisfy({ file.load(at: $0, as: UInt8.self) == Self.magic[$0] }) else {
            throw fail("bad magic: not a Megatron MMIDIDX index file")
        }
        let version = file.load(at: 9, as: UInt64.self)
        guard version == 1 else { throw fail("unsupported index version \(version) (only version 1 exists)") }
        let code = file.load(at: 17, as: UInt8.self)
        guard let dtype = IndexedTokenDType(rawValue: code) else {
            throw fail("unknown dtype code \(code) (valid codes are 1…8)")
        }
        guard dtype.holdsInt32Tokens else {
            throw fail("dtype \(dtype) (code \(code)) cannot hold token ids read as Int32")
        }
        let rawS = file.load(at: 18, as: UInt64.self)
        let rawD = file.load(at: 26, as: UInt64.self)
        // Bounding the counts by the file length first keeps the size arithmetic from overflowing.
        guard rawS <= UInt64(length), rawD <= UInt64(length) else {
            throw fail("header counts (sequences \(rawS), document index entries \(rawD)) exceed the file length \(length)")
        }
        let s = Int(rawS), d = Int(rawD)
        let plain = Self.byteCount + 12 * s + 8 * d
        let withModes = plain + s
        let modes: Bool
        switch multimodal {
        case .some(true) where length == withModes: modes = true
        case .some(false) where length == plain: modes = false
        case .none where length == plain: modes = false
        case .none where length == withModes: modes = true
        default:
            let expected = multimodal == true ? "\(withModes)" : multimodal == false ? "\(plain)" : "\(plain) (or \(withModes) with modes)"
            throw fail("size mismatch: header says \(s) sequences and \(d) document index entries, so the file must be \(expected) bytes, but it is \(length)")
        }
        guard d >= 1 else { throw fail("document index is empty (it must hold at least the leading 0)") }
        self.dtype = dtype
        self.sequenceCount = s
        self.documentIndexCount = d
        self.hasModes = modes
    }
}

func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
}
