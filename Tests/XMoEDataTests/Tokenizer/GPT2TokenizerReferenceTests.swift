import Foundation
import Testing
@testable import XMoEData

/// Encoding against ids from independent implementations (HF `tokenizers` and OpenAI's
/// algorithm, via the committed fixture) and against the reference notes' golden facts.
@Suite struct GPT2TokenizerReferenceTests {
    @Test func fixtureHasTheExpectedBreadth() {
        #expect(TokenizerTestSupport.cases.count >= 500)
    }

    @Test func everyFixtureCaseEncodesToTheReferenceIDs() {
        var tokenizer = GPT2Tokenizer(vocabulary: TokenizerTestSupport.vocabulary)
        var mismatches: [String] = []
        for testCase in TokenizerTestSupport.cases {
            let ids = tokenizer.encode(testCase.text)
            if ids != testCase.ids {
                mismatches.append("\(testCase.text.debugDescription): got \(ids), want \(testCase.ids)")
            }
        }
        let mismatchCount = mismatches.count
        #expect(mismatchCount == 0, "first mismatches: \(mismatches.prefix(3).joined(separator: "; "))")
    }

    @Test func decodeOfEncodeIsTheText() throws {
        var tokenizer = GPT2Tokenizer(vocabulary: TokenizerTestSupport.vocabulary)
        for testCase in TokenizerTestSupport.cases {
            #expect(try tokenizer.decode(tokenizer.encode(testCase.text)) == testCase.text)
            #expect(try tokenizer.decode(testCase.ids) == testCase.text)
        }
    }

    /// A cache of 3 entries is emptied constantly; results must not depend on it.
    @Test func tinyCacheGivesTheSameIDs() {
        var tokenizer = GPT2Tokenizer(vocabulary: TokenizerTestSupport.vocabulary, cacheCapacity: 3)
        for testCase in TokenizerTestSupport.cases.prefix(200) {
            #expect(tokenizer.encode(testCase.text) == testCase.ids)
        }
    }

    /// Copies of one tokenizer encode on several threads at once (each copy owns its cache).
    @Test func copiesEncodeConcurrently() async {
        let shared = GPT2Tokenizer(vocabulary: TokenizerTestSupport.vocabulary)
        let cases = TokenizerTestSupport.cases
        let failures = await withTaskGroup(of: Int.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    var mine = shared
                    var failed = 0
                    for (index, testCase) in cases.enumerated() where index % 4 == worker {
                        if mine.encode(testCase.text) != testCase.ids { failed += 1 }
                    }
                    return failed
                }
            }
            return await group.reduce(0, +)
        }
        #expect(failures == 0)
    }

    /// Facts from megatron-data.md §4.1 (Megatron's legacy GPT2BPETokenizer).
    @Test func vocabularyFactsMatchMegatron() throws {
        var tokenizer = GPT2Tokenizer(vocabulary: TokenizerTestSupport.vocabulary)
        #expect(tokenizer.vocabSize == 50257)
        #expect(tokenizer.eodID == 50256)
        #expect(tokenizer.encode("<|endoftext|>") == [27, 91, 437, 1659, 5239, 91, 29])
        #expect(try tokenizer.decode([50256]) == "<|endoftext|>")
    }

    @Test func appendingEncodeConcatenatesDocuments() {
        var tokenizer = GPT2Tokenizer(vocabulary: TokenizerTestSupport.vocabulary)
        var ids: [Int32] = [7]
        tokenizer.encode("Hello world", appendingTo: &ids)
        tokenizer.encode(" Hello  world\n", appendingTo: &ids)
        #expect(ids == [7, 15496, 995, 18435, 220, 995, 198])
    }

    @Test func decodeRejectsUnknownIDs() {
        let tokenizer = GPT2Tokenizer(vocabulary: TokenizerTestSupport.vocabulary)
        #expect(throws: GPT2TokenizerError.unknownTokenID(50257, vocabSize: 50257)) {
            try tokenizer.decode([15496, 50257])
        }
        #expect(throws: GPT2TokenizerError.unknownTokenID(-1, vocabSize: 50257)) {
            try tokenizer.decode([-1])
        }
    }

    /// Ids that split a multi-byte scalar decode to U+FFFD, as the reference's errors="replace".
    @Test func decodeOfAPartialScalarIsReplacementCharacter() throws {
        let tokenizer = GPT2Tokenizer(vocabulary: TokenizerTestSupport.vocabulary)
        // 12520 248 222 is "🚀" with its leading space (§4.2): drop the last byte token.
        #expect(try tokenizer.decodeBytes([12520, 248]) == [0x20, 0xF0, 0x9F, 0x9A])
        #expect(try tokenizer.decode([12520, 248]) == " \u{FFFD}")
    }
}

/// The merger's two paths (small array for short pieces, heap for long ones) must agree: run every
/// fixture case through the heap path alone.
@Suite struct BytePairMergerPathTests {
    @Test func heapPathAloneGivesTheReferenceIDs() {
        let merger = BytePairMerger(vocabulary: TokenizerTestSupport.vocabulary, heapThreshold: 1)
        var mismatches = 0
        for testCase in TokenizerTestSupport.cases {
            var text = testCase.text
            let ids = text.withUTF8 { bytes in
                var scanner = GPT2PieceScanner(utf8: bytes)
                var ids: [Int32] = []
                while let range = scanner.next() {
                    merger.encode(UnsafeBufferPointer(rebasing: bytes[range]), into: &ids)
                }
                return ids
            }
            if ids != testCase.ids { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }
}
