import Foundation
import Testing
@testable import XMoEData

@Suite struct PrepareProgressTests {
    typealias S = PrepareTestSupport

    final class Reports: @unchecked Sendable {
        var all: [PrepareDataProgress] = []
    }

    @Test func finalProgressCoversTheWholeCompressedInput() throws {
        try S.withTemporaryDirectory { directory in
            let gz = directory.appendingPathComponent("in.jsonl.gz")
            try S.gzip(S.fixtureInput, to: gz)
            let size = try FileManager.default.attributesOfItem(atPath: gz.path)[.size] as! NSNumber
            let options = PrepareDataOptions(input: gz, outputPrefix: directory.appendingPathComponent("out").path,
                                             workers: 2, batchBytes: 256, progressInterval: 0)
            let reports = Reports()
            let summary = try PrepareData(options: options, vocabulary: TokenizerTestSupport.vocabulary)
                .run { reports.all.append($0) }
            let last = try #require(reports.all.last)
            #expect(reports.all.count > 1)
            #expect(last.documents == summary.documents && summary.documents == 15)
            #expect(last.inputBytesTotal == size.intValue)
            #expect(last.inputBytesRead == last.inputBytesTotal)
            #expect(last.etaSeconds == 0)
            #expect(zip(reports.all, reports.all.dropFirst()).allSatisfy { $0.documents <= $1.documents })
        }
    }
}
