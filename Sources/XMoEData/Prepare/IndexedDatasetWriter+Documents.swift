extension IndexedDatasetWriter {
    /// One document given as its concatenated tokens and its sequence lengths, as
    /// `IndexedDatasetBuilder.add_document(tokens, lengths)` takes it. No lengths: an empty
    /// document (a repeated document-index entry, no sequences).
    func addDocument(tokens: ArraySlice<Int32>, sequenceLengths: ArraySlice<Int32>) throws {
        var start = tokens.startIndex
        for length in sequenceLengths {
            try add(sequence: tokens[start ..< start + Int(length)])
            start += Int(length)
        }
        precondition(start == tokens.endIndex, "sequence lengths do not cover the document's tokens")
        endDocument()
    }
}
