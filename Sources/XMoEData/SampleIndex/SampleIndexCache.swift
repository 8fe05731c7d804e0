import Foundation

/// On-disk cache of GPT sample indices, as NumPy `.npy` files with megatron-core's dtypes
/// (document_index `<i4`, sample_index `<i4`/`<i8` shape (n+1, 2), shuffle_index `<u4`/`<i8`),
/// so megatron-core and NumPy can read them and we can read megatron's.
///
/// Files: `{dir}/{H}-GPTSampleIndex-{document_index,sample_index,shuffle_index}.npy` and
/// `{H}-GPTSampleIndex-description.txt`, where `H` is a 64-bit FNV-1a hash (hex) of the
/// description text. The description lists every input (the sizes array by its own hash, the
/// split range, the config) and is written last: it marks the entry complete, and a load
/// compares it in full, so a hash collision or a half-written entry is rebuilt, not used.
public struct SampleIndexCache: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// Returns the cached index for these inputs, or builds and stores it. A cache entry that is
    /// unreadable or fails validation (`GPTSampleIndex.validated`) is rebuilt, never used, and
    /// `notice` says which file was wrong and why.
    public func loadOrBuild(sizes: [Int32], sequences: Range<Int>, config: GPTSampleIndexConfig,
                            notice: (String) -> Void = { _ in }) throws -> GPTSampleIndex {
        let description = Self.description(sizes: sizes, sequences: sequences, config: config)
        let stem = (directory as NSString).appendingPathComponent(
            String(format: "%016llx", fnv1a64(Array(description.utf8))) + "-GPTSampleIndex")
        do {
            if let cached = try load(stem: stem, description: description, sizes: sizes, sequences: sequences, config: config) {
                return cached
            }
        } catch {
            notice("sample-index cache \(stem)-*.npy is damaged (\(error)); rebuilding it")
        }
        let built = try GPTSampleIndex.build(sizes: sizes, sequences: sequences, config: config)
        try store(built, stem: stem, description: description, maxSize: Int64(sizes.max() ?? 0))
        return built
    }

    static func description(sizes: [Int32], sequences: Range<Int>, config: GPTSampleIndexConfig) -> String {
        let sizesHash = sizes.withUnsafeBytes { fnv1a64(Array($0)) }
        return """
        xmoe GPTSampleIndex v1 (megatron-core 0.19 GPTDataset semantics)
        sequence_count \(sizes.count)
        sizes_fnv1a64 \(String(format: "%016llx", sizesHash))
        sequences \(sequences.lowerBound)..<\(sequences.upperBound)
        sequence_length \(config.sequenceLength)
        seed \(config.seed)
        num_samples \(config.sampleCount.map(String.init) ?? "None")
        add_extra_token \(config.addExtraToken)

        """
    }

    private func load(stem: String, description: String, sizes: [Int32], sequences: Range<Int>,
                      config: GPTSampleIndexConfig) throws -> GPTSampleIndex? {
        guard let stored = FileManager.default.contents(atPath: stem + "-description.txt"),
              String(decoding: stored, as: UTF8.self) == description else { return nil }
        let documents = try NPYFile.read(stem + "-document_index.npy")
        let samples = try NPYFile.read(stem + "-sample_index.npy")
        let shuffle = try NPYFile.read(stem + "-shuffle_index.npy")
        do {
            return try GPTSampleIndex.validated(documentIndex: documents.values, sampleIndex: (samples.values, samples.shape),
                                                shuffleIndex: (shuffle.values, shuffle.shape), sizes: sizes,
                                                sequences: sequences, config: config)
        } catch let error as SampleIndexError {
            throw NPYFile.NPYError(path: stem + "-*.npy", problem: error.description)
        }
    }

    private func store(_ index: GPTSampleIndex, stem: String, description: String, maxSize: Int64) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw NPYFile.NPYError(path: directory, problem: "cannot create cache directory: \(error.localizedDescription)")
        }
        let rows = index.sampleIndex_N2.count / 2
        try NPYFile.write(index.documentIndex.map { Int64($0) }, shape: [index.documentIndex.count],
                          dtype: .int32, to: stem + "-document_index.npy")
        let sampleFits = max(Int64(index.documentIndex.count), maxSize) <= Int64(Int32.max)
        try NPYFile.write(index.sampleIndex_N2, shape: [rows, 2], dtype: sampleFits ? .int32 : .int64,
                          to: stem + "-sample_index.npy")
        let shuffleFits = Int64(index.sampleCount) < Int64(UInt32.max) - 1
        try NPYFile.write(index.shuffleIndex, shape: [index.shuffleIndex.count], dtype: shuffleFits ? .uint32 : .int64,
                          to: stem + "-shuffle_index.npy")
        let path = stem + "-description.txt"
        do {
            try Data(description.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw NPYFile.NPYError(path: path, problem: "cannot write: \(error.localizedDescription)")
        }
    }
}

func fnv1a64(_ bytes: [UInt8]) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01B3
    }
    return hash
}
