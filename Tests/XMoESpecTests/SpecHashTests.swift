import Foundation
import Testing
@testable import XMoESpec

@Suite struct SpecHashTests {
    static let reference = """
        name: run
        model:
          hidden: 256
          heads: 8
        train:
          lr: 3.0e-4
          iters: 10
        moe:
          num_experts: 16
        """

    /// Key order, comments, flow style, number spelling and quoting of strings do not change the hash.
    @Test func hashIgnoresFormatting() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.write("a.yaml", Self.reference)
        try dir.write("b.yaml", """
            # the same experiment, written differently
            moe: {num_experts: 16}   # experts
            train:
              iters: 1_0
              lr: 0.0003
            model: {heads: 8, hidden: 256}
            name: "run"
            """)
        let a = try dir.load("a.yaml"), b = try dir.load("b.yaml")
        #expect(a.hash == b.hash)
        #expect(a.canonicalYAML == b.canonicalYAML)
        // Setting a key to its default value is the same experiment.
        let c = try dir.load("a.yaml", ["model.layers=2"])
        #expect(c.hash == a.hash)
    }

    @Test(arguments: ["model.hidden=512", "train.lr=3.1e-4", "moe.num_experts=32", "name=other", "seed=1",
                      "data.json_keys=[text, title]", "moe.drop_tokens=false", "train.iters=11"])
    func hashChangesWithAnyValue(override: String) throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.write("a.yaml", Self.reference)
        #expect(try dir.load("a.yaml").hash != dir.load("a.yaml", [override]).hash)
    }

    /// The hash is the SHA-256 of the canonical YAML, as sha256sum computes it.
    @Test func hashIsSHA256OfCanonicalYAML() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.write("a.yaml", Self.reference)
        let spec = try dir.load("a.yaml")
        let file = try dir.write("canonical.yaml", spec.canonicalYAML)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [file]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(String(output.prefix(64)) == spec.hash)
    }

    /// The canonical YAML is itself a spec that resolves to the same values.
    @Test func canonicalYAMLRoundTrips() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.write("a.yaml", Self.reference + "\ndata:\n  input: \"corpus \\\"quoted\\\".jsonl\"\n")
        let spec = try dir.load("a.yaml")
        try dir.write("again.yaml", spec.canonicalYAML)
        let again = try dir.load("again.yaml")
        #expect(again.values.values == spec.values.values)
        #expect(again.hash == spec.hash)
    }

    @Test func sliceNamesKeysUnderPrefixes() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.write("a.yaml", Self.reference)
        let slice = try dir.load("a.yaml").slice(["data", "model.seq_length"])
        #expect(slice["model.seq_length"] == "256")
        #expect(slice["data.input"] == "null")
        #expect(slice["data.json_keys"] == "[\"text\"]")
        #expect(slice["model.hidden"] == nil)
        #expect(Set(slice.keys) == Set(SpecSchema.keys(inSection: "data").map(\.path) + ["model.seq_length"]))
    }
}
