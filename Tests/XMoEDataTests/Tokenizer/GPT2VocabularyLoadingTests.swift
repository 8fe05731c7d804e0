import Foundation
import Testing
@testable import XMoEData

/// Missing or malformed vocab.json / merges.txt give thrown errors that name the file.
@Suite struct GPT2VocabularyLoadingTests {
    /// A small but complete byte-level vocabulary: the 256 byte tokens, "<|endoftext|>", and the
    /// merge "Ġ t" → "Ġt".
    private static func writeValidFiles(in directory: URL, mergesText: String? = nil) throws -> (URL, URL) {
        var vocab: [String: Int] = [:]
        for byte in 0..<256 {
            vocab[String(Character(ByteLevelAlphabet.scalarForByte[byte]))] = byte
        }
        vocab["Ġt"] = 256
        vocab["<|endoftext|>"] = 257
        let vocabURL = directory.appendingPathComponent("vocab.json")
        let mergesURL = directory.appendingPathComponent("merges.txt")
        try JSONEncoder().encode(vocab).write(to: vocabURL)
        try (mergesText ?? "#version: 0.2\nĠ t\n").write(to: mergesURL, atomically: true, encoding: .utf8)
        return (vocabURL, mergesURL)
    }

    private static func loadingError(_ vocabURL: URL, _ mergesURL: URL) -> GPT2TokenizerError? {
        do {
            _ = try GPT2Vocabulary(vocabURL: vocabURL, mergesURL: mergesURL)
            return nil
        } catch {
            return error as? GPT2TokenizerError
        }
    }

    @Test func smallValidVocabularyLoadsAndMerges() throws {
        try TokenizerTestSupport.withTemporaryDirectory { directory in
            let (vocabURL, mergesURL) = try Self.writeValidFiles(in: directory)
            var tokenizer = try GPT2Tokenizer(vocabURL: vocabURL, mergesURL: mergesURL)
            #expect(tokenizer.vocabSize == 258)
            #expect(tokenizer.eodID == 257)
            // " to" → "Ġt" + "o"; "to" has no merge → bytes.
            #expect(tokenizer.encode(" to") == [256, Int32(UInt8(ascii: "o"))])
            #expect(tokenizer.encode("to") == [Int32(UInt8(ascii: "t")), Int32(UInt8(ascii: "o"))])
        }
    }

    @Test func missingFilesAreNamed() throws {
        try TokenizerTestSupport.withTemporaryDirectory { directory in
            let (vocabURL, mergesURL) = try Self.writeValidFiles(in: directory)
            let absent = directory.appendingPathComponent("absent.json")
            #expect(Self.loadingError(absent, mergesURL) == .unreadableFile(path: absent.path, reason: "no such file"))
            #expect(Self.loadingError(vocabURL, absent) == .unreadableFile(path: absent.path, reason: "no such file"))
            let error = Self.loadingError(absent, mergesURL)
            #expect(error?.description.contains(absent.path) == true)
            #expect(throws: GPT2TokenizerError.self) {
                try GPT2Tokenizer(directory: directory.appendingPathComponent("nowhere"))
            }
        }
    }

    @Test func malformedVocabularyIsNamed() throws {
        try TokenizerTestSupport.withTemporaryDirectory { directory in
            let (vocabURL, mergesURL) = try Self.writeValidFiles(in: directory)
            for bad in ["not json", "[1, 2, 3]", "{\"a\": \"one\"}", "{\"a\": 0}"] {
                try bad.write(to: vocabURL, atomically: true, encoding: .utf8)
                guard case let .malformedVocabulary(path, _)? = Self.loadingError(vocabURL, mergesURL) else {
                    Issue.record("vocab \(bad.debugDescription) was accepted or gave another error")
                    continue
                }
                #expect(path == vocabURL.path)
            }
        }
    }

    @Test func vocabularyWithoutEndOfTextOrWithHolesIsRejected() throws {
        try TokenizerTestSupport.withTemporaryDirectory { directory in
            let (vocabURL, mergesURL) = try Self.writeValidFiles(in: directory)
            var vocab = try JSONDecoder().decode([String: Int].self, from: Data(contentsOf: vocabURL))
            vocab["<|endoftext|>"] = nil
            vocab["Ġt"] = 257  // ids stay 0..<count
            vocab["<|bos|>"] = 256
            try JSONEncoder().encode(vocab).write(to: vocabURL)
            guard case let .malformedVocabulary(_, reason)? = Self.loadingError(vocabURL, mergesURL) else {
                Issue.record("a vocabulary without <|endoftext|> was accepted")
                return
            }
            #expect(reason.contains("<|endoftext|>"))

            vocab["<|bos|>"] = nil
            vocab["<|endoftext|>"] = 300  // leaves ids 256 and 258…299 unused
            try JSONEncoder().encode(vocab).write(to: vocabURL)
            guard case .malformedVocabulary? = Self.loadingError(vocabURL, mergesURL) else {
                Issue.record("a vocabulary with an id outside 0..<count was accepted")
                return
            }
        }
    }

    @Test func malformedMergesNameFileAndLine() throws {
        try TokenizerTestSupport.withTemporaryDirectory { directory in
            let cases: [(text: String, line: Int)] = [
                ("#version: 0.2\nĠ t\nĠt\n", 3),            // one token only
                ("#version: 0.2\nĠ t extra\n", 2),          // three tokens
                ("#version: 0.2\nĠ t\nq ☃\n", 3),           // ☃ is no vocabulary token
                ("#version: 0.2\na b\n", 2),                // "ab" is not in the vocabulary
                ("#version: 0.2\n", 1),                     // no merges at all
            ]
            for (text, line) in cases {
                let (vocabURL, mergesURL) = try Self.writeValidFiles(in: directory, mergesText: text)
                let error = Self.loadingError(vocabURL, mergesURL)
                guard case let .malformedMerges(path, errorLine, _)? = error else {
                    Issue.record("merges \(text.debugDescription) gave \(String(describing: error))")
                    continue
                }
                #expect(path == mergesURL.path)
                #expect(errorLine == line, "merges \(text.debugDescription)")
                #expect(error!.description.contains(mergesURL.path))
            }
        }
    }
}
