/// Checks that three arrays read from a cache (ours or megatron-core's) form a GPT sample index for
/// these inputs, so every sample reads in bounds and holds exactly `sequenceLength (+1)` tokens:
/// - the document index holds each sequence of the split exactly `epochs` times;
/// - sample-index row 0 is (0, 0), every row points into the document index, each sample starts at a
///   valid offset, ends `sequenceLength` tokens later (counted over the documents it spans) and
///   leaves room for the extra token;
/// - the shuffle index is a permutation of the samples.
/// A cache that passes yields the samples a fresh build would, up to their order, which only a
/// rebuild could prove; the description and its hash tie the entry to its inputs.
extension GPTSampleIndex {
    public static func validated(documentIndex: [Int64], sampleIndex: (values: [Int64], shape: [Int]),
                                 shuffleIndex: (values: [Int64], shape: [Int]), sizes: [Int32], sequences: Range<Int>,
                                 config: GPTSampleIndexConfig) throws -> GPTSampleIndex {
        func fail(_ problem: String) -> SampleIndexError { SampleIndexError(description: problem) }
        let extra = config.addExtraToken ? 1 : 0
        let seqLen = config.sequenceLength
        let tokensPerEpoch = sequences.reduce(0) { $0 + Int(sizes[$1]) }
        let plan = epochPlan(tokensPerEpoch: tokensPerEpoch, config: config)

        guard documentIndex.count == plan.epochs * sequences.count else {
            throw fail("document_index has \(documentIndex.count) entries, \(plan.epochs) epoch(s) of \(sequences.count) sequences need \(plan.epochs * sequences.count)")
        }
        var seen = [Int](repeating: 0, count: sequences.count)
        for (k, d) in documentIndex.enumerated() {
            guard d >= Int64(sequences.lowerBound), d < Int64(sequences.upperBound) else {
                throw fail("document_index[\(k)] = \(d) is outside the split's sequences \(sequences)")
            }
            seen[Int(d) - sequences.lowerBound] += 1
        }
        if let k = seen.firstIndex(where: { $0 != plan.epochs }) {
            throw fail("sequence \(k + sequences.lowerBound) appears \(seen[k]) times in document_index, not \(plan.epochs)")
        }

        let n = (plan.epochs * tokensPerEpoch - extra) / seqLen
        guard sampleIndex.shape == [n + 1, 2], sampleIndex.values.count == 2 * (n + 1) else {
            throw fail("sample_index has shape \(sampleIndex.shape), expected [\(n + 1), 2]")
        }
        guard shuffleIndex.shape == [n], shuffleIndex.values.count == n else {
            throw fail("shuffle_index has shape \(shuffleIndex.shape), expected [\(n)]")
        }
        // start[k]: tokens of the document index before entry k, so a row (k, offset) sits at start[k] + offset.
        var start = [Int64](repeating: 0, count: documentIndex.count + 1)
        for k in documentIndex.indices { start[k + 1] = start[k] + Int64(sizes[Int(documentIndex[k])]) }
        let rows = sampleIndex.values
        guard rows[0] == 0, rows[1] == 0 else { throw fail("sample_index row 0 is (\(rows[0]), \(rows[1])), not (0, 0)") }
        for k in 0...n {
            let entry = rows[2 * k], offset = rows[2 * k + 1]
            guard entry >= 0, entry < Int64(documentIndex.count), offset >= 0 else {
                throw fail("sample_index row \(k) = (\(entry), \(offset)) lies outside document_index")
            }
            let size = Int64(sizes[Int(documentIndex[Int(entry)])])
            guard offset <= size, k == 0 || offset + Int64(extra) <= size else {
                throw fail("sample_index row \(k) = (\(entry), \(offset)): offset beyond its sequence of \(size) tokens")
            }
            if k > 0 {
                let previous = start[Int(rows[2 * k - 2])] + rows[2 * k - 1]
                guard start[Int(entry)] + offset - previous == Int64(seqLen) else {
                    throw fail("sample \(k - 1) (sample_index rows \(k - 1) and \(k)) spans "
                        + "\(start[Int(entry)] + offset - previous) tokens, not \(seqLen)")
                }
            }
        }
        var hit = [Bool](repeating: false, count: n)
        for (i, s) in shuffleIndex.values.enumerated() {
            guard s >= 0, s < Int64(n), !hit[Int(s)] else {
                throw fail("shuffle_index[\(i)] = \(s) is out of range 0..<\(n) or repeated: not a permutation")
            }
            hit[Int(s)] = true
        }
        return GPTSampleIndex(documentIndex: documentIndex.map { Int32($0) }, sampleIndex_N2: rows,
                              shuffleIndex: shuffleIndex.values, epochs: plan.epochs,
                              separateFinalEpoch: plan.separateFinalEpoch)
    }
}
