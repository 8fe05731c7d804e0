/// One batch of lines turned into documents on a worker thread: for each json key the
/// concatenated tokens and sequence lengths, and per document its number of sequences.
struct PreparedBatch: Sendable {
    struct KeyOutput: Sendable {
        var tokens: [Int32] = []
        var sequenceLengths: [Int32] = []
        /// Per good line, how many sequences of `sequenceLengths` it owns (0 for an empty document).
        var sequencesPerDocument: [Int32] = []
    }

    var perKey: [KeyOutput]
    /// Bad lines in line order: (1-based line number, problem). Without skipping, the batch stops
    /// at the first one.
    var badLines: [(line: Int, problem: LineProblem)] = []
    var documents = 0
    var emptyDocuments = 0

    /// Tokenizes each line as Megatron's `Encoder.encode` does: each text (sentence) separately,
    /// sentences with no tokens dropped, EOD appended to a document that has tokens, and the EOD
    /// counted in the last sequence (megatron-core; not the Megatron-DeepSpeed off-by-one).
    init(batch: JSONLinesBatch, keys: [[UInt8]], appendEOD: Bool, stopAtFirstBadLine: Bool,
         tokenizer: inout GPT2Tokenizer) {
        perKey = Array(repeating: KeyOutput(), count: keys.count)
        for i in 0 ..< batch.lineCount {
            let texts: [[[UInt8]]]
            do { texts = try JSONLineFields.extract(line: batch.line(i), keys: keys) } catch {
                badLines.append((batch.firstLineNumber + i, error))
                if stopAtFirstBadLine { return }
                continue
            }
            documents += 1
            var anyTokens = false
            for (k, sentences) in texts.enumerated() {
                var sequences: Int32 = 0
                for sentence in sentences {
                    let before = perKey[k].tokens.count
                    tokenizer.encode(String(decoding: sentence, as: UTF8.self), appendingTo: &perKey[k].tokens)
                    let count = perKey[k].tokens.count - before
                    if count == 0 { continue }
                    perKey[k].sequenceLengths.append(Int32(count))
                    sequences += 1
                }
                if sequences > 0 && appendEOD {
                    perKey[k].tokens.append(tokenizer.eodID)
                    perKey[k].sequenceLengths[perKey[k].sequenceLengths.count - 1] += 1
                }
                anyTokens = anyTokens || sequences > 0
                perKey[k].sequencesPerDocument.append(sequences)
            }
            if !anyTokens { emptyDocuments += 1 }
        }
    }
}
