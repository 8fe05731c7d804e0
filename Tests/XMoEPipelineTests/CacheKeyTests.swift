import Foundation
import Testing

@testable import XMoEPipeline

struct CacheKeyTests {
    /// Pins the encoding against coreutils: keys recorded by one xmoe version stay valid in the next.
    @Test func encodingIsPinned() throws {
        let dir = try TemporaryDirectory()
        let file = dir.url.appendingPathComponent("encoding")
        // tag, name, format version, 2 inputs sorted by bytes ("a.b" < "model.hidden"), 1 upstream.
        let bytes = "15:xmoe-step-key/1\n5:train\n1:2\n1:2\n3:a.b\n0:\n12:model.hidden\n3:512\n"
            + "1:1\n12:prepare-data\n4:feed\n"
        try Data(bytes.utf8).write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sha256sum", file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let expected = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .split(separator: " ")[0]
        process.waitUntilExit()

        let key = CacheKey.compute(
            stepName: "train", formatVersion: "2", inputs: ["model.hidden": "512", "a.b": ""],
            upstreamKeys: ["prepare-data": "feed"])
        #expect(key == String(expected))
    }

    @Test func everyComponentChangesTheKey() {
        let base = CacheKey.compute(stepName: "s", formatVersion: "1", inputs: ["k": "v"], upstreamKeys: ["u": "x"])
        let variants = [
            CacheKey.compute(stepName: "t", formatVersion: "1", inputs: ["k": "v"], upstreamKeys: ["u": "x"]),
            CacheKey.compute(stepName: "s", formatVersion: "2", inputs: ["k": "v"], upstreamKeys: ["u": "x"]),
            CacheKey.compute(stepName: "s", formatVersion: "1", inputs: ["k": "w"], upstreamKeys: ["u": "x"]),
            CacheKey.compute(stepName: "s", formatVersion: "1", inputs: ["j": "v"], upstreamKeys: ["u": "x"]),
            CacheKey.compute(stepName: "s", formatVersion: "1", inputs: ["k": "v"], upstreamKeys: ["u": "y"]),
            CacheKey.compute(stepName: "s", formatVersion: "1", inputs: ["k": "v"], upstreamKeys: [:]),
            // What naive "k=v" joining would confuse.
            CacheKey.compute(stepName: "s", formatVersion: "1", inputs: ["k": "v", "u": "x"], upstreamKeys: [:]),
        ]
        #expect(Set(variants + [base]).count == variants.count + 1)
        #expect(CacheKey.compute(stepName: "s", formatVersion: "1", inputs: ["ab": "c"], upstreamKeys: [:])
            != CacheKey.compute(stepName: "s", formatVersion: "1", inputs: ["a": "bc"], upstreamKeys: [:]))
    }

    @Test func upstreamKeyChangePropagatesDownTheChain() throws {
        func keys(hidden: String) throws -> [String: String] {
            let steps = [
                Step(name: "prepare-data", inputs: ["data.input": "x"], formatVersion: "1") { _ in StepOutputs() },
                Step(name: "train", upstream: ["prepare-data"], inputs: ["model.hidden": hidden], formatVersion: "1") { _ in StepOutputs() },
                Step(name: "report", upstream: ["train"], inputs: [:], formatVersion: "1") { _ in StepOutputs() },
            ]
            return try Pipeline(steps: steps, runDirectory: RunDirectory(root: URL(fileURLWithPath: "/tmp/none"))).keys
        }
        let a = try keys(hidden: "256"), b = try keys(hidden: "512")
        #expect(a["prepare-data"] == b["prepare-data"])
        #expect(a["train"] != b["train"])
        #expect(a["report"] != b["report"])
        #expect(a["train"]!.count == 64)
    }
}
