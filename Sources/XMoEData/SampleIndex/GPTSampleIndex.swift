/// The three arrays megatron-core's `GPTDataset` builds for one split of one dataset
/// (notes §3.3–3.7), reproduced exactly: same epochs, same NumPy RandomState stream, same
/// `helpers.cpp build_sample_idx` walk.
public struct GPTSampleIndex: Sendable, Equatable {
    /// Sequence indices into the `.idx`, the split's sequences repeated per epoch and shuffled.
    public var documentIndex: [Int32]
    /// Row k = (position in documentIndex, token offset in that sequence) where sample k starts;
    /// `sampleCount + 1` rows, flattened row-major.
    public var sampleIndex_N2: [Int64]
    /// Sample order: sample i of the dataset is built from rows shuffleIndex[i] and +1.
    public var shuffleIndex: [Int64]
    public var epochs: Int
    public var separateFinalEpoch: Bool

    public var sampleCount: Int { sampleIndex_N2.count / 2 - 1 }
}

public struct GPTSampleIndexConfig: Sendable, Hashable {
    public var sequenceLength: Int
    public var seed: UInt32
    /// Requested samples; nil means exactly one epoch.
    public var sampleCount: Int?
    /// megatron-core's `add_extra_token_to_sequence` (samples hold sequenceLength + 1 tokens).
    public var addExtraToken: Bool

    public init(sequenceLength: Int, seed: UInt32, sampleCount: Int?, addExtraToken: Bool = true) {
        self.sequenceLength = sequenceLength
        self.seed = seed
        self.sampleCount = sampleCount
        self.addExtraToken = addExtraToken
    }
}

public struct SampleIndexError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

extension GPTSampleIndex {
    /// Builds the indices for `sequences` (a split range of the `.idx`) with lengths `sizes`.
    public static func build(sizes: [Int32], sequences: Range<Int>, config: GPTSampleIndexConfig) throws -> GPTSampleIndex {
        guard config.sequenceLength > 0 else {
            throw SampleIndexError(description: "sequence length must be positive, got \(config.sequenceLength)")
        }
        let extra = config.addExtraToken ? 1 : 0
        let seqLen = config.sequenceLength
        let documents = sequences.map { Int32($0) }
        let tokensPerEpoch = sequences.reduce(0) { $0 + Int(sizes[$1]) }
        // megatron-core loops forever here; the user must change the split or the data instead.
        guard tokensPerEpoch > extra else {
            throw SampleIndexError(description: "split of sequences \(sequences) holds \(tokensPerEpoch) tokens, too few for one sample; give this split more weight or more data")
        }

        let plan = epochPlan(tokensPerEpoch: tokensPerEpoch, config: config)
        let (epochs, separate, samplesSansFinal) = (plan.epochs, plan.separateFinalEpoch, plan.samplesSansFinal)

        var rng = NumPyRandomState(seed: config.seed)
        var documentIndex: [Int32]
        if separate {
            var first = repeated(documents, epochs - 1)
            rng.shuffle(&first)
            var last = documents
            rng.shuffle(&last)
            documentIndex = first + last
        } else {
            documentIndex = repeated(documents, epochs)
            rng.shuffle(&documentIndex)
        }

        let sampleIndex = buildSampleIndex(sizes: sizes, documentIndex: documentIndex, sequenceLength: seqLen,
                                           epochs: epochs, tokensPerEpoch: tokensPerEpoch, extra: extra)
        let total = sampleIndex.count / 2 - 1
        let firstCount = separate ? samplesSansFinal : total
        var shuffle = (0..<Int64(firstCount)).map { $0 }
        rng.shuffle(&shuffle)
        if firstCount < total {
            var rest = (Int64(firstCount)..<Int64(total)).map { $0 }
            rng.shuffle(&rest)
            shuffle += rest
        }
        return GPTSampleIndex(documentIndex: documentIndex, sampleIndex_N2: sampleIndex, shuffleIndex: shuffle,
                              epochs: epochs, separateFinalEpoch: separate)
    }

    /// Epoch count and the separate-final-epoch rule (notes §3.3).
    static func epochPlan(tokensPerEpoch: Int, config: GPTSampleIndexConfig)
        -> (epochs: Int, separateFinalEpoch: Bool, samplesSansFinal: Int) {
        let extra = config.addExtraToken ? 1 : 0
        let seqLen = config.sequenceLength
        guard let n = config.sampleCount else { return (1, false, 0) }
        var epochs = 1
        while epochs * tokensPerEpoch < n * seqLen + extra { epochs += 1 }
        guard epochs > 1 else { return (1, false, 0) }
        let samplesSansFinal = ((epochs - 1) * tokensPerEpoch - extra) / seqLen
        let samplesFinal = n - samplesSansFinal
        let perEpoch = (tokensPerEpoch - extra) / seqLen
        precondition(samplesFinal >= 0 && samplesFinal <= perEpoch + 1, "epoch arithmetic broken")
        return (epochs, samplesFinal < Int(0.80 * Double(perEpoch)), samplesSansFinal)
    }

    private static func repeated(_ documents: [Int32], _ epochs: Int) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(documents.count * epochs)
        for _ in 0..<epochs { out += documents }
        return out
    }

    /// `helpers.cpp build_sample_idx` with drop_last (the only mode used for training).
    private static func buildSampleIndex(sizes: [Int32], documentIndex: [Int32], sequenceLength: Int,
                                         epochs: Int, tokensPerEpoch: Int, extra: Int) -> [Int64] {
        let n = (epochs * tokensPerEpoch - extra) / sequenceLength
        var rows: [Int64] = [0, 0]
        rows.reserveCapacity(2 * (n + 1))
        var di = 0, offset = 0
        for _ in 0..<n {
            var remaining = sequenceLength + extra
            while remaining != 0 {
                let length = Int(sizes[Int(documentIndex[di])]) - offset
                remaining -= length
                if remaining <= 0 {
                    offset += remaining + length - extra
                    remaining = 0
                } else {
                    di += 1
                    offset = 0
                }
            }
            rows.append(Int64(di))
            rows.append(Int64(offset))
        }
        return rows
    }

    /// Tokens of sample `i` (after shuffling), `sequenceLength + extra` of them (notes §3.8).
    public func sampleTokens(_ i: Int, dataset: IndexedDataset, addExtraToken: Bool = true) -> [Int32] {
        let extra = addExtraToken ? 1 : 0
        let j = Int(shuffleIndex[i])
        let begin = Int(sampleIndex_N2[2 * j]), beginOffset = Int(sampleIndex_N2[2 * j + 1])
        let end = Int(sampleIndex_N2[2 * j + 2]), endOffset = Int(sampleIndex_N2[2 * j + 3])
        var out: [Int32] = []
        if begin == end {
            dataset.appendTokens(of: Int(documentIndex[begin]), offset: beginOffset,
                                 length: endOffset - beginOffset + extra, to: &out)
        } else {
            dataset.appendTokens(of: Int(documentIndex[begin]), offset: beginOffset, to: &out)
            for k in (begin + 1)..<end { dataset.appendTokens(of: Int(documentIndex[k]), to: &out) }
            dataset.appendTokens(of: Int(documentIndex[end]), offset: 0, length: endOffset + extra, to: &out)
        }
        return out
    }
}
