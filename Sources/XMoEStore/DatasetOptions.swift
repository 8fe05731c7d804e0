/// How a new dataset is laid out on disk.
public struct DatasetOptions: Sendable, Equatable {
    /// Chunk shape (same rank as the data). `nil` with `deflateLevel` set picks one (at most 1 MiB).
    public var chunkShape: [Int]?
    /// zlib level 0...9, or `nil` for no compression. Compression needs chunking.
    public var deflateLevel: Int?

    public init(chunkShape: [Int]? = nil, deflateLevel: Int? = nil) {
        self.chunkShape = chunkShape
        self.deflateLevel = deflateLevel
    }

    /// One contiguous block, uncompressed.
    public static let contiguous = DatasetOptions()

    /// Chunked and deflate-compressed with an automatic chunk shape.
    public static func deflate(level: Int = 4) -> DatasetOptions { DatasetOptions(deflateLevel: level) }

    /// The chunk shape to use for data of `shape`, or `nil` for a contiguous layout.
    func resolvedChunk(for shape: [Int], elementSize: Int) -> [Int]? {
        if let chunkShape { return chunkShape }
        guard deflateLevel != nil else { return nil }
        return Self.automaticChunk(for: shape, elementSize: elementSize)
    }

    /// The whole array, halving its largest dimension until a chunk fits in 1 MiB: one chunk for
    /// small tensors (one read, one inflate) and bounded memory for large ones.
    static func automaticChunk(for shape: [Int], elementSize: Int) -> [Int] {
        var chunk = shape.map { max($0, 1) }
        let limit = 1 << 20
        while chunk.reduce(elementSize, *) > limit, let largest = chunk.indices.max(by: { chunk[$0] < chunk[$1] }),
              chunk[largest] > 1 {
            chunk[largest] = (chunk[largest] + 1) / 2
        }
        return chunk
    }
}

/// Layout and type of a stored dataset, as found in the file.
public struct DatasetInfo: Sendable, Equatable {
    /// `nil` when the dataset holds something other than plain numbers (strings, compounds).
    public var elementType: StoreElementType?
    /// Current shape; `[]` for a scalar.
    public var shape: [Int]
    /// Maximum shape; `nil` entries are unlimited.
    public var maxShape: [Int?]
    /// `nil` for a contiguous (or compact) layout.
    public var chunkShape: [Int]?
    /// zlib level when the deflate filter is on.
    public var deflateLevel: Int?

    public var elementCount: Int { shape.reduce(1, *) }
}
