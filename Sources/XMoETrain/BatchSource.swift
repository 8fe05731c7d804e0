/// One micro-batch: `samples` sequences of `seqLen` tokens, flattened row-major, with next-token
/// targets (a target < 0 is ignored by the loss).
public struct MicroBatch: Sendable, Equatable {
    public var tokens: [Int32]
    public var targets: [Int32]

    public init(tokens: [Int32], targets: [Int32]) {
        self.tokens = tokens
        self.targets = targets
    }
}

/// Training or validation data addressed by position: sample `position` of the (shuffled, epoch-
/// repeated) stream. Positions make resume exact: a checkpoint records the consumed-sample count and
/// the next batch starts there, with no iterator state to save.
public protocol BatchSource {
    /// Tokens per sample (each sample is one sequence).
    var seqLen: Int { get }
    /// Samples `position ..< position + samples`.
    func microBatch(at position: Int, samples: Int) throws -> MicroBatch
}

/// A fixed list of sequences of `seqLen + 1` tokens, cycled: sample i is sequence i mod count,
/// tokens its first `seqLen` ids and targets the last `seqLen`. For tests and synthetic tasks.
public struct ArrayBatchSource: BatchSource, Sendable {
    public let sequences: [[Int32]]
    public let seqLen: Int

    public init(sequences: [[Int32]]) throws {
        guard let first = sequences.first, first.count >= 2 else {
            throw TrainError.data("ArrayBatchSource: need at least one sequence of 2 or more tokens")
        }
        guard sequences.allSatisfy({ $0.count == first.count }) else {
            throw TrainError.data("ArrayBatchSource: sequences differ in length; all must be seqLen + 1 tokens")
        }
        self.sequences = sequences
        seqLen = first.count - 1
    }

    public func microBatch(at position: Int, samples: Int) throws -> MicroBatch {
        var tokens: [Int32] = [], targets: [Int32] = []
        tokens.reserveCapacity(samples * seqLen)
        targets.reserveCapacity(samples * seqLen)
        for i in position..<(position + samples) {
            let sequence = sequences[i % sequences.count]
            tokens += sequence[0..<seqLen]
            targets += sequence[1...seqLen]
        }
        return MicroBatch(tokens: tokens, targets: targets)
    }
}
