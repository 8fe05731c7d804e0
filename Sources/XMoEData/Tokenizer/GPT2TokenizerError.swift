/// Problems a user can cause when loading or using a GPT-2 tokenizer; each message names the file
/// (and line or token) at fault and what to do.
public enum GPT2TokenizerError: Error, CustomStringConvertible, Equatable {
    /// The file is missing or cannot be read.
    case unreadableFile(path: String, reason: String)
    /// vocab.json is not a JSON object of token → id, or its tokens/ids are inconsistent.
    case malformedVocabulary(path: String, reason: String)
    /// A line of merges.txt is not two known tokens separated by one space.
    case malformedMerges(path: String, line: Int, reason: String)
    /// `decode` was given an id outside 0..<vocabSize.
    case unknownTokenID(Int32, vocabSize: Int)

    public var description: String {
        switch self {
        case let .unreadableFile(path, reason):
            return "cannot read GPT-2 tokenizer file \(path): \(reason). "
                + "Point the tokenizer at the vocab.json/merges.txt pair (see data/gpt2/README.md)."
        case let .malformedVocabulary(path, reason):
            return "malformed GPT-2 vocabulary \(path): \(reason). "
                + "Expected a JSON object mapping byte-level BPE tokens to ids 0..<N (vocab.json)."
        case let .malformedMerges(path, line, reason):
            return "malformed GPT-2 merges file \(path), line \(line): \(reason). "
                + "Expected '#version' on line 1, then one 'LEFT RIGHT' pair of vocabulary tokens per line."
        case let .unknownTokenID(id, vocabSize):
            return "token id \(id) is outside the GPT-2 vocabulary (0..<\(vocabSize))"
        }
    }
}
