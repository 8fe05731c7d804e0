import Foundation
@testable import XMoEData

/// Paths into the repository, found from this file's location (Tests/XMoEDataTests/Tokenizer/).
enum TokenizerTestSupport {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let gpt2Directory = repositoryRoot.appendingPathComponent("data/gpt2")
    static let fixtureURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/gpt2_cases.json")

    /// Loaded once: parsing vocab.json and merges.txt is the slow part of every test.
    static let vocabulary: GPT2Vocabulary = {
        do {
            return try GPT2Vocabulary(directory: gpt2Directory)
        } catch {
            fatalError("cannot load the shipped GPT-2 files: \(error)")
        }
    }()

    struct Case: Decodable {
        let text: String
        let ids: [Int32]
    }

    private struct Fixture: Decodable {
        let cases: [Case]
    }

    /// Cases written by data/gpt2/make_tokenizer_fixture.py from HF `tokenizers` and OpenAI's
    /// algorithm (which agree on all of them).
    static let cases: [Case] = {
        do {
            return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: fixtureURL)).cases
        } catch {
            fatalError("cannot read \(fixtureURL.path): \(error)")
        }
    }()

    /// A fresh temporary directory, removed by `body`'s caller via the returned cleanup.
    static func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("xmoe-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try body(directory)
    }
}
