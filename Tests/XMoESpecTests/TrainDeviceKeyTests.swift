import Foundation
import Testing
@testable import XMoESpec

/// `train.device: cpu | cuda`: cpu by default; any other value is a located error naming the choices.
@Suite struct TrainDeviceKeyTests {
    @Test func defaultsToCPUAndTakesCUDA() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.write("s.yaml", "train:\n  iters: 3\n")
        let plain = try dir.load("s.yaml")
        #expect(plain.values.string("train.device") == "cpu")
        let cuda = try dir.load("s.yaml", ["train.device=cuda"])
        #expect(cuda.values.string("train.device") == "cuda")
        #expect(cuda.hash != plain.hash)
    }

    @Test func otherValuesAreLocatedErrors() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.write("s.yaml", "train:\n  iters: 3\n  device: gpu\n")
        let errors = dir.errors("s.yaml")
        #expect(errors.count == 1)
        let error = try #require(errors.first)
        #expect(error.keyPath == "train.device")
        guard case let .file(path, line, _) = error.location else {
            Issue.record("not located in the file: \(error)")
            return
        }
        #expect(path.hasSuffix("s.yaml") && line == 3)
        let text = error.description
        let namesChoices = text.contains("cpu") && text.contains("cuda") && text.contains("gpu")
        #expect(namesChoices, "\(text)")

        try dir.write("plain.yaml", "train:\n  iters: 3\n")
        let overridden = dir.errors("plain.yaml", ["train.device=rocm"])
        #expect(overridden.count == 1)
        let onOverride = overridden.first.map { "\($0)" } ?? ""
        #expect(onOverride.contains("override #1 'train.device=rocm'") && onOverride.contains("rocm"), "\(overridden)")
    }
}
