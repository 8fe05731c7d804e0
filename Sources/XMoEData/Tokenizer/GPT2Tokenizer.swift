import Foundation

/// GPT-2 byte-level BPE, id-for-id identical to Megatron's legacy `GPT2BPETokenizer` (OpenAI's
/// algorithm): pre-tokenize with GPT-2's pattern over Unicode scalars, map each piece's UTF-8
/// bytes to byte tokens, apply the ranked merges. `<|endoftext|>` inside text is ordinary text
/// (7 tokens); append `eodID` yourself to end a document.
///
/// A value type: the vocabulary is a shared immutable object and each copy owns its piece cache,
/// so give every worker thread its own copy (`var mine = shared`); copies are `Sendable`.
public struct GPT2Tokenizer: Sendable {
    public let vocabulary: GPT2Vocabulary
    private var cache: PieceCache

    /// Entries kept in the per-copy piece cache before it is emptied.
    public static let defaultCacheCapacity = 1 << 16

    public init(vocabulary: GPT2Vocabulary, cacheCapacity: Int = defaultCacheCapacity) {
        self.vocabulary = vocabulary
        cache = PieceCache(capacity: cacheCapacity)
    }

    /// Loads `vocab.json` and `merges.txt` from `directory`.
    public init(directory: URL, cacheCapacity: Int = defaultCacheCapacity) throws {
        self.init(vocabulary: try GPT2Vocabulary(directory: directory), cacheCapacity: cacheCapacity)
    }

    public init(vocabURL: URL, mergesURL: URL, cacheCapacity: Int = defaultCacheCapacity) throws {
        self.init(vocabulary: try GPT2Vocabulary(vocabURL: vocabURL, mergesURL: mergesURL),
                  cacheCapacity: cacheCapacity)
    }

    /// Id of `<|endoftext|>` (50 256), Megatron's end-of-document token.
    public var eodID: Int32 { vocabulary.endOfTextID }
    /// Number of tokens in vocab.json (50 257); the model pads its embedding beyond this.
    public var vocabSize: Int { vocabulary.count }

    public mutating func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        encode(text, appendingTo: &ids)
        return ids
    }

    /// Appends the ids of `text` to `ids` (lets a caller reuse one buffer across documents).
    public mutating func encode(_ text: String, appendingTo ids: inout [Int32]) {
        var text = text
        ids.reserveCapacity(ids.count + text.utf8.count / 3)
        text.withUTF8 { bytes in encode(utf8: bytes, appendingTo: &ids) }
    }

    private mutating func encode(utf8 bytes: UnsafeBufferPointer<UInt8>, appendingTo ids: inout [Int32]) {
        var scanner = GPT2PieceScanner(utf8: bytes)
        let merger = BytePairMerger(vocabulary: vocabulary)
        while let range = scanner.next() {
            let piece = UnsafeBufferPointer(rebasing: bytes[range])
            if piece.count == 1 {
                ids.append(vocabulary.tokenForByte[Int(piece[0])])
                continue
            }
            if piece.count > PieceCache.maximumPieceLength {
                merger.encode(piece, into: &ids)
                continue
            }
            let hash = PieceCache.hash(piece)
            if cache.appendIDs(of: piece, hash: hash, to: &ids) { continue }
            let start = ids.count
            merger.encode(piece, into: &ids)
            cache.insert(piece, hash: hash, ids: ids[start...])
        }
    }

    /// The UTF-8 bytes the ids stand for.
    public func decodeBytes(_ ids: some Sequence<Int32>) throws -> [UInt8] {
        var bytes: [UInt8] = []
        for id in ids {
            guard let tokenBytes = vocabulary.bytes(of: id) else {
                throw GPT2TokenizerError.unknownTokenID(id, vocabSize: vocabulary.count)
            }
            bytes.append(contentsOf: tokenBytes)
        }
        return bytes
    }

    /// The text the ids stand for; byte sequences that are not valid UTF-8 (a multi-byte scalar
    /// cut between ids) become U+FFFD, as in the reference `errors="replace"`.
    public func decode(_ ids: some Sequence<Int32>) throws -> String {
        String(decoding: try decodeBytes(ids), as: UTF8.self)
    }
}
