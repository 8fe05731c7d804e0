/// Token ids against the vocabulary, checked once over the whole `.bin` when training opens it.
///
/// Why one full scan rather than a check per sample: a bad id (a padding row, data tokenized with
/// another vocabulary) would otherwise surface hours into a run, or never — an id below the padded
/// embedding size trains silently on a row the tokenizer never emits. The scan is a min/max
/// reduction over the mapped file, bound by memory bandwidth (gigabytes per second), so it costs
/// far less than reading the data once for training; only when it finds a bad id does a second,
/// slower pass locate it for the message.
extension IndexedDataset {
    /// Throws `IndexedDatasetError` naming the `.bin`, the sequence and the position of the first
    /// id outside `0..<vocabularySize`.
    public func validateTokenIDs(vocabularySize: Int) throws {
        guard let base = data.base, data.count > 0 else { return }
        let count = data.count / dtype.byteWidth
        // validateArrays proved the sequences tile the .bin from byte 0, and mmap maps at a page
        // boundary, so the whole file is one aligned array of `dtype`.
        let (low, high): (Int64, Int64)
        switch dtype {
        case .uint8: (low, high) = Self.range(base.assumingMemoryBound(to: UInt8.self), count)
        case .int8: (low, high) = Self.range(base.assumingMemoryBound(to: Int8.self), count)
        case .int16: (low, high) = Self.range(base.assumingMemoryBound(to: Int16.self), count)
        case .uint16: (low, high) = Self.range(base.assumingMemoryBound(to: UInt16.self), count)
        case .int32: (low, high) = Self.range(base.assumingMemoryBound(to: Int32.self), count)
        case .int64, .float32, .float64: fatalError("IndexFileHeader admits only dtypes that hold Int32 tokens")
        }
        guard low < 0 || high >= Int64(vocabularySize) else { return }
        for sequence in 0..<sequenceCount {
            let tokens = self.tokens(of: sequence)
            guard let position = tokens.firstIndex(where: { $0 < 0 || Int($0) >= vocabularySize }) else { continue }
            throw IndexedDatasetError(path: data.path, problem: "token id \(tokens[position]) (sequence \(sequence), "
                + "position \(position)) is outside the vocabulary of \(vocabularySize) ids (model.vocab_size); ids in "
                + "the embedding's padding rows are never produced by the tokenizer. Prepare the data with the model's "
                + "tokenizer, or set model.vocab_size to the tokenizer's vocabulary")
        }
        fatalError("min/max scan and per-sequence scan of \(data.path) disagree")
    }

    /// Little-endian host assumed (x86-64, arm64), as everywhere `.bin` values are read in place.
    private static func range<T: FixedWidthInteger>(_ pointer: UnsafePointer<T>, _ count: Int) -> (Int64, Int64) {
        var low = T.max, high = T.min
        for value in UnsafeBufferPointer(start: pointer, count: count) {
            low = Swift.min(low, value)
            high = Swift.max(high, value)
        }
        return (Int64(low), Int64(high))
    }
}
