import Foundation
import Testing
@testable import XMoEData

/// Output compared byte for byte with megatron-core's IndexedDatasetBuilder fed by the
/// preprocess_data.py pipeline (Benchmarks/prepare-data/make_fixture.py wrote the golden files).
@Suite struct MegatronGoldenTests {
    typealias S = PrepareTestSupport

    @Test(arguments: [1, 2, 4])
    func twoKeysWithEODMatchMegatronForAnyWorkerCount(workers: Int) throws {
        try S.withTemporaryDirectory { directory in
            let prefix = directory.appendingPathComponent("out")
            // Small batches so that four workers really share the 15 lines.
            let summary = try S.run(input: S.fixtureInput, prefix: prefix, keys: ["text", "title"], appendEOD: true,
                                    workers: workers, batchBytes: 512)
            #expect(summary.documents == 15)
            for key in ["text", "title"] {
                let ours = try S.files(prefix: prefix, key: key)
                let expected = try S.files(prefix: S.fixtures.appendingPathComponent("eod"), key: key)
                #expect(ours.bin == expected.bin, "\(key).bin differs")
                #expect(ours.idx == expected.idx, "\(key).idx differs")
            }
        }
    }

    @Test func withoutEODMatchesMegatron() throws {
        try S.withTemporaryDirectory { directory in
            let prefix = directory.appendingPathComponent("out")
            let summary = try S.run(input: S.fixtureInput, prefix: prefix, workers: 2)
            let ours = try S.files(prefix: prefix, key: "text")
            let expected = try S.files(prefix: S.fixtures.appendingPathComponent("noeod"), key: "text")
            #expect(ours.bin == expected.bin)
            #expect(ours.idx == expected.idx)
            // "" and [] are documents without sequences: a repeated value in the document index.
            #expect(summary.emptyDocuments == 2)
            #expect(summary.outputs[0].tokens * 2 == expected.bin.count)
        }
    }

    @Test(arguments: [1, 3])
    func gzipInputGivesTheSameOutput(members: Int) throws {
        try S.withTemporaryDirectory { directory in
            let gz = directory.appendingPathComponent("fixture.jsonl.gz")
            try S.gzip(S.fixtureInput, to: gz, members: members)
            let prefix = directory.appendingPathComponent("out")
            _ = try S.run(input: gz, prefix: prefix, keys: ["text", "title"], appendEOD: true, workers: 2)
            for key in ["text", "title"] {
                let ours = try S.files(prefix: prefix, key: key)
                let expected = try S.files(prefix: S.fixtures.appendingPathComponent("eod"), key: key)
                #expect(ours.bin == expected.bin)
                #expect(ours.idx == expected.idx)
            }
        }
    }

    @Test func workerCountDoesNotChangeALargerOutput() throws {
        try S.withTemporaryDirectory { directory in
            // The fixture repeated: ~170 KB in 2 KB batches, so many batches race.
            let input = directory.appendingPathComponent("big.jsonl")
            let text = try Data(contentsOf: S.fixtureInput)
            try Data(repeatElement(text, count: 15).joined()).write(to: input)
            var outputs: [(bin: Data, idx: Data)] = []
            for workers in [1, 2, 4] {
                let prefix = directory.appendingPathComponent("w\(workers)")
                _ = try S.run(input: input, prefix: prefix, appendEOD: true, workers: workers, batchBytes: 2048)
                outputs.append(try S.files(prefix: prefix, key: "text"))
            }
            let eod = try S.files(prefix: S.fixtures.appendingPathComponent("eod"), key: "text")
            #expect(outputs[0].bin == Data(repeatElement(eod.bin, count: 15).joined()))
            for output in outputs.dropFirst() {
                #expect(output.bin == outputs[0].bin)
                #expect(output.idx == outputs[0].idx)
            }
        }
    }
}
