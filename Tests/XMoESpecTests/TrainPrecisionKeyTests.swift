import Foundation
import Testing
@testable import XMoESpec

/// `train.precision: auto | fp32 | bf16`: auto by default; any other value is a located error naming
/// the choices, in a file or on the command line.
@Suite struct TrainPrecisionKeyTests {
    @Test func defaultsToAutoAndTakesTheChoices() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.write("s.yaml", "train:\n  iters: 3\n")
        let plain = try dir.load("s.yaml")
        #expect(plain.values.string("train.precision") == "auto")
        for choice in ["fp32", "bf16"] {
            let set = try dir.load("s.yaml", ["train.precision=\(choice)"])
            #expect(set.values.string("train.precision") == choice)
            #expect(set.hash != plain.hash)
        }
    }

    @Test func otherValuesAreLocatedErrors() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.write("s.yaml", "train:\n  iters: 3\n  precision: fp16\n")
        let errors = dir.errors("s.yaml")
        #expect(errors.count == 1)
        let error = try #require(errors.first)
        #expect(error.keyPath == "train.precision")
        guard case let .file(path, line, _) = error.location else {
            Issue.record("not located in the file: \(error)")
            return
        }
        #expect(path.hasSuffix("s.yaml") && line == 3)
        let text = error.description
        let namesChoices = text.contains("auto") && text.contains("fp32") && text.contains("bf16") && text.contains("fp16")
        #expect(namesChoices, "\(text)")

        try dir.write("plain.yaml", "train:\n  iters: 3\n")
        let overridden = dir.errors("plain.yaml", ["train.precision=half"])
        #expect(overridden.count == 1)
        let onOverride = overridden.first.map { "\($0)" } ?? ""
        #expect(onOverride.contains("override #1 'train.precision=half'") && onOverride.contains("half"), "\(overridden)")
    }
}
