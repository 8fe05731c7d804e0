/// Something that yields GPT training samples by global index (a single dataset's split or a blend).
public protocol GPTSampleSource: Sendable {
    var sampleCount: Int { get }
    /// Tokens of global sample `i`: sequenceLength + 1 of them.
    func sample(_ i: Int) -> [Int32]
}

/// One split of one indexed dataset, in megatron's shuffled sample order.
public struct GPTDatasetSamples: GPTSampleSource {
    public let dataset: IndexedDataset
    public let index: GPTSampleIndex
    public let addExtraToken: Bool

    public init(dataset: IndexedDataset, index: GPTSampleIndex, addExtraToken: Bool = true) {
        self.dataset = dataset
        self.index = index
        self.addExtraToken = addExtraToken
    }

    public var sampleCount: Int { index.sampleCount }
    public func sample(_ i: Int) -> [Int32] { index.sampleTokens(i, dataset: dataset, addExtraToken: addExtraToken) }
}

/// A megatron-core `BlendedDataset`: sample s is sample `datasetSampleIndex[s]` of dataset `datasetIndex[s]`.
public struct BlendedGPTSamples: GPTSampleSource {
    public let datasets: [GPTDatasetSamples]
    public let index: BlendedGPTSampleIndex

    public init(datasets: [GPTDatasetSamples], index: BlendedGPTSampleIndex) {
        precondition(datasets.count == index.datasets.count, "one dataset per blend component")
        self.datasets = datasets
        self.index = index
    }

    public var sampleCount: Int { index.sampleCount }
    public func sample(_ i: Int) -> [Int32] {
        datasets[Int(index.datasetIndex[i])].sample(Int(index.datasetSampleIndex[i]))
    }
}

/// Serves micro-batches to one data-parallel rank exactly like Megatron's
/// `MegatronPretrainingSampler` (drop_last): global indices from `consumedSamples` on are cut into
/// groups of `microBatchSize * dataParallelSize` consecutive samples; rank r takes positions
/// `r*microBatchSize ..< (r+1)*microBatchSize` of each group; an incomplete last group is dropped.
/// `consumedSamples` counts samples taken by all ranks, so it is the resume position.
public struct GPTBatchLoader: Sendable {
    public let source: any GPTSampleSource
    public let microBatchSize: Int
    public let dataParallelSize: Int
    public let dataParallelRank: Int
    public private(set) var consumedSamples: Int

    public init(source: any GPTSampleSource, microBatchSize: Int, dataParallelSize: Int,
                dataParallelRank: Int, consumedSamples: Int = 0) throws {
        guard microBatchSize > 0, dataParallelSize > 0, (0..<dataParallelSize).contains(dataParallelRank) else {
            throw SampleIndexError(description: "invalid loader layout: micro batch \(microBatchSize), data-parallel rank \(dataParallelRank) of \(dataParallelSize)")
        }
        guard consumedSamples >= 0, consumedSamples <= source.sampleCount else {
            throw SampleIndexError(description: "resume position \(consumedSamples) is outside the dataset's \(source.sampleCount) samples")
        }
        self.source = source
        self.microBatchSize = microBatchSize
        self.dataParallelSize = dataParallelSize
        self.dataParallelRank = dataParallelRank
        self.consumedSamples = consumedSamples
    }

    /// Global sample indices of this rank's next micro-batch, or nil when the data is exhausted.
    public func nextSampleIndices() -> Range<Int>? {
        let group = microBatchSize * dataParallelSize
        guard consumedSamples + group <= source.sampleCount else { return nil }
        let start = consumedSamples + dataParallelRank * microBatchSize
        return start..<(start + microBatchSize)
    }

    /// This rank's next micro-batch as `microBatchSize` rows of sequenceLength + 1 tokens,
    /// flattened row-major; advances `consumedSamples` by the whole group (all ranks).
    public mutating func next() -> [Int32]? {
        guard let indices = nextSampleIndices() else { return nil }
        var tokens_BS: [Int32] = []
        for i in indices { tokens_BS += source.sample(i) }
        consumedSamples += microBatchSize * dataParallelSize
        return tokens_BS
    }
}
