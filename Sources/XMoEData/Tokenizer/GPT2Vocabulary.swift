import Foundation

/// The immutable part of a GPT-2 byte-level BPE tokenizer, loaded from `vocab.json` and
/// `merges.txt`: token ids, the bytes each id stands for, and the merge table keyed by id pairs.
/// Shared by every `GPT2Tokenizer` copy (and so by every worker thread).
public final class GPT2Vocabulary: Sendable {
    /// Number of entries in vocab.json (50 257 for GPT-2).
    public let count: Int
    /// Id of `<|endoftext|>` (50 256 for GPT-2).
    public let endOfTextID: Int32

    /// `tokenForByte[b]`: id of the one-byte token for byte `b`; BPE starts from these.
    let tokenForByte: [Int32]
    /// (left id << 32 | right id) → (rank << 32 | merged id).
    let merges: [UInt64: UInt64]
    /// `mergeRightOfRank[r]`/`mergeLeftOfRank[r]`: the pair merged at rank `r`.
    let mergeLeftOfRank: [Int32]
    let mergeRightOfRank: [Int32]
    /// Bytes of token `i` are `tokenBytes[tokenOffsets[i]..<tokenOffsets[i + 1]]`.
    let tokenOffsets: [Int32]
    let tokenBytes: [UInt8]

    public convenience init(directory: URL) throws {
        try self.init(vocabURL: directory.appendingPathComponent("vocab.json"),
                      mergesURL: directory.appendingPathComponent("merges.txt"))
    }

    public init(vocabURL: URL, mergesURL: URL) throws {
        let vocab = try Self.readVocabulary(vocabURL)
        let vocabPath = vocabURL.path

        var bytesOfID = [[UInt8]?](repeating: nil, count: vocab.count)
        for (token, id) in vocab {
            guard id >= 0, id < vocab.count else {
                throw GPT2TokenizerError.malformedVocabulary(
                    path: vocabPath, reason: "id \(id) of token \(token.debugDescription) is outside 0..<\(vocab.count)")
            }
            guard bytesOfID[id] == nil else {
                throw GPT2TokenizerError.malformedVocabulary(
                    path: vocabPath, reason: "id \(id) is used by more than one token")
            }
            guard let bytes = ByteLevelAlphabet.bytes(ofToken: token), !bytes.isEmpty else {
                throw GPT2TokenizerError.malformedVocabulary(
                    path: vocabPath,
                    reason: "token \(token.debugDescription) is empty or not spelled in GPT-2's byte alphabet")
            }
            bytesOfID[id] = bytes
        }
        var offsets: [Int32] = [0]
        var flat: [UInt8] = []
        for bytes in bytesOfID {
            flat += bytes!  // ids are unique and in 0..<count, so every slot is filled
            offsets.append(Int32(flat.count))
        }

        var tokenForByte = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 {
            let token = String(Character(ByteLevelAlphabet.scalarForByte[byte]))
            guard let id = vocab[token] else {
                throw GPT2TokenizerError.malformedVocabulary(
                    path: vocabPath, reason: "the one-byte token for byte \(byte) (\(token.debugDescription)) is missing")
            }
            tokenForByte[byte] = Int32(id)
        }
        guard let endOfText = vocab["<|endoftext|>"] else {
            throw GPT2TokenizerError.malformedVocabulary(path: vocabPath, reason: "token \"<|endoftext|>\" is missing")
        }

        let pairs = try Self.readMerges(mergesURL, vocab: vocab)
        var merges: [UInt64: UInt64] = [:]
        merges.reserveCapacity(pairs.count)
        for (rank, pair) in pairs.enumerated() {
            // A repeated pair keeps its last rank, as the reference implementations do.
            merges[UInt64(UInt32(pair.left)) << 32 | UInt64(UInt32(pair.right))] =
                UInt64(rank) << 32 | UInt64(UInt32(pair.merged))
        }

        count = vocab.count
        endOfTextID = Int32(endOfText)
        self.tokenForByte = tokenForByte
        self.merges = merges
        mergeLeftOfRank = pairs.map(\.left)
        mergeRightOfRank = pairs.map(\.right)
        tokenOffsets = offsets
        tokenBytes = flat
    }

    /// The bytes token `id` stands for, or nil when `id` is not in the vocabulary.
    public func bytes(of id: Int32) -> ArraySlice<UInt8>? {
        guard id >= 0, Int(id) < count else { return nil }
        return tokenBytes[Int(tokenOffsets[Int(id)])..<Int(tokenOffsets[Int(id) + 1])]
    }

    /// (rank << 32 | merged id) for the pair, or nil when the pair never merges.
    @inline(__always)
    func merge(_ left: Int32, _ right: Int32) -> UInt64? {
        merges[UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))]
    }

    private static func readData(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            let reason = FileManager.default.fileExists(atPath: url.path)
                ? error.localizedDescription : "no such file"
            throw GPT2TokenizerError.unreadableFile(path: url.path, reason: reason)
        }
    }

    private static func readVocabulary(_ url: URL) throws -> [String: Int] {
        let data = try readData(url)
        let vocab: [String: Int]
        do {
            vocab = try JSONDecoder().decode([String: Int].self, from: data)
        } catch {
            throw GPT2TokenizerError.malformedVocabulary(
                path: url.path, reason: "not a JSON object of string → integer (\(error))")
        }
        guard vocab.count > 256 else {
            throw GPT2TokenizerError.malformedVocabulary(
                path: url.path, reason: "only \(vocab.count) entries; a byte-level BPE vocabulary has more than 256")
        }
        return vocab
    }

    private static func readMerges(_ url: URL, vocab: [String: Int]) throws
        -> [(left: Int32, right: Int32, merged: Int32)]
    {
        let data = try readData(url)
        guard let text = String(data: data, encoding: .utf8) else {
            throw GPT2TokenizerError.malformedMerges(path: url.path, line: 1, reason: "not UTF-8 text")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        var pairs: [(left: Int32, right: Int32, merged: Int32)] = []
        pairs.reserveCapacity(lines.count)
        for (index, rawLine) in lines.enumerated() {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if index == 0, line.hasPrefix("#version") { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw GPT2TokenizerError.malformedMerges(
                    path: url.path, line: index + 1, reason: "\(String(line).debugDescription) is not 'LEFT RIGHT'")
            }
            let left = String(parts[0]), right = String(parts[1])
            guard let leftID = vocab[left], let rightID = vocab[right], let mergedID = vocab[left + right] else {
                let missing = vocab[left] == nil ? left : vocab[right] == nil ? right : left + right
                throw GPT2TokenizerError.malformedMerges(
                    path: url.path, line: index + 1, reason: "token \(missing.debugDescription) is not in the vocabulary")
            }
            pairs.append((Int32(leftID), Int32(rightID), Int32(mergedID)))
        }
        guard !pairs.isEmpty else {
            throw GPT2TokenizerError.malformedMerges(path: url.path, line: 1, reason: "the file holds no merges")
        }
        return pairs
    }
}
