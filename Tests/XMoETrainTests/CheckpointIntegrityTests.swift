import Foundation
import Testing
import XMoEStore
import XMoETrain

/// Damage injected into real checkpoint files (bytes flipped on disk, values and attributes changed
/// through h5py, an independent HDF5 writer): the resume names the file and the tensor or attribute,
/// falls back to the previous complete checkpoint, and that one restores exactly the state of an
/// uninterrupted run at its step.
@Suite struct CheckpointIntegrityTests {
    /// An attention weight and a router weight of the tiny model, by their checkpoint names.
    static let names = Tiny.model().parameters.namedSlices.map(\.name)
    static let tensor = "/params/" + names.first { $0.contains("attn") && $0.contains(".w") }!
    static let moment = "/adam_v/" + names.first { $0.contains("router") }!

    func python(_ script: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0 else { throw TrainError.settings("python failed: \(text)") }
        return text
    }

    func trainer(_ dir: URL, steps: Int) throws -> Trainer {
        try Trainer(model: Tiny.model(), settings: Tiny.settings(steps: steps, checkpointEvery: 2, keep: 3),
                    trainData: Tiny.randomData(), validationData: Tiny.randomData(salt: 9), runDirectory: dir,
                    specHash: "spec")
    }

    /// A run with checkpoints at steps 2 and 4, the file of step 4, and the weights at step 2 of an
    /// independent uninterrupted run.
    func setUp(_ dir: TemporaryDirectory) throws -> (file: String, atStep2: [[UInt32]]) {
        try trainer(dir.url, steps: 4).run()
        let reference = try TemporaryDirectory()
        let two = try trainer(reference.url, steps: 2)
        try two.run()
        return (dir.url.appendingPathComponent("checkpoints/step_000004/rank_00000.h5").path, Tiny.weights(two.model).map(bits))
    }

    /// Resumes a fresh trainer (other seed) on `dir`; expects the fallback to step 2 and returns the notices.
    func resumeFallsBack(_ dir: URL, atStep2: [[UInt32]], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let resumed = try Trainer(model: Tiny.model(seed: 77), settings: Tiny.settings(steps: 4, checkpointEvery: 2, keep: 3),
                                  trainData: Tiny.randomData(), validationData: Tiny.randomData(salt: 9),
                                  runDirectory: dir, specHash: "spec")
        let step = try resumed.resume()
        #expect(step == 2, sourceLocation: sourceLocation)
        let weights = Tiny.weights(resumed.model).map(bits)
        #expect(weights == atStep2, sourceLocation: sourceLocation)
        let notices = resumed.resumeNotices.joined(separator: "\n")
        #expect(notices.contains("step_000002"), "\(notices)", sourceLocation: sourceLocation)
        return notices
    }

    @Test func flippedByteInAWeightFallsBack() throws {
        let dir = try TemporaryDirectory()
        let (file, atStep2) = try setUp(dir)
        let offset = try python("""
            import sys, h5py
            with h5py.File(sys.argv[1], 'r') as f: print(f[sys.argv[2]].id.get_offset())
            """, [file, Self.tensor])
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: file))
        let at = try #require(UInt64(offset)) + 5
        try handle.seek(toOffset: at)
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: at)
        try handle.write(contentsOf: Data([byte ^ 0x10]))
        try handle.close()
        let notices = try resumeFallsBack(dir.url, atStep2: atStep2)
        #expect(notices.contains(file) && notices.contains(Self.tensor) && notices.contains("checksum mismatch"), "\(notices)")
    }

    /// A NaN written into a moment, once without and once with a matching checksum (as if saved
    /// that way): either way the message blames the file and names the tensor.
    @Test func nanInATensorIsBlamedOnTheFile() throws {
        let dir = try TemporaryDirectory()
        let (file, atStep2) = try setUp(dir)
        let backup = try Data(contentsOf: URL(fileURLWithPath: file))
        let moment = Self.moment
        for resealed in [false, true] {
            try backup.write(to: URL(fileURLWithPath: file))
            _ = try python("""
                import sys, h5py, hashlib, numpy as np
                with h5py.File(sys.argv[1], 'r+') as f:
                    d = f[sys.argv[2]]
                    v = d[...]
                    v.flat[3] = np.nan
                    d[...] = v
                    if sys.argv[3] == 'true':
                        d.attrs['sha256'] = hashlib.sha256(v.astype('<f4').tobytes()).hexdigest()
                """, [file, moment, "\(resealed)"])
            let notices = try resumeFallsBack(dir.url, atStep2: atStep2)
            #expect(notices.contains(file) && notices.contains(moment), "\(notices)")
            #expect(notices.contains("non-finite value (first: nan at element 3)"), "\(notices)")
            #expect(notices.contains("the file holds them, the learning rate did not produce them"), "\(notices)")
            #expect(notices.contains("checksum mismatch") == !resealed, "\(notices)")
        }
    }

    @Test func inconsistentStateAttributesFallBack() throws {
        let dir = try TemporaryDirectory()
        let (file, atStep2) = try setUp(dir)
        let backup = try Data(contentsOf: URL(fileURLWithPath: file))
        // (attribute, value, words the notice must contain); step 4 × global batch 4 = 16 samples.
        let cases: [(String, Int, String)] = [
            ("consumed_samples", 12, "consumed_samples 12 is not step 4 × global batch 4 = 16"),
            ("step", 3, "step 3 does not match the directory name step_000004"),
            ("optimizer_step", 5, "optimizer_step 5 exceeds step 4"),
            ("seed", 6, "do not match their checksum"),
        ]
        for (name, value, words) in cases {
            try backup.write(to: URL(fileURLWithPath: file))
            _ = try python("""
                import sys, h5py, numpy as np
                with h5py.File(sys.argv[1], 'r+') as f: f.attrs[sys.argv[2]] = np.int64(sys.argv[3])
                """, [file, name, "\(value)"])
            let notices = try resumeFallsBack(dir.url, atStep2: atStep2)
            #expect(notices.contains(file) && notices.contains(words), "\(name): \(notices)")
        }
    }

    @Test func noGoodCheckpointIsAnErrorListingEach() throws {
        let dir = try TemporaryDirectory()
        let (file4, _) = try setUp(dir)
        let file2 = file4.replacingOccurrences(of: "step_000004", with: "step_000002")
        for file in [file4, file2] {
            _ = try python("""
                import sys, h5py
                with h5py.File(sys.argv[1], 'r+') as f: f.attrs['consumed_samples'] = 999
                """, [file])
        }
        let resumed = try trainer(dir.url, steps: 4)
        do {
            _ = try resumed.resume()
            Issue.record("resumed from damaged checkpoints")
        } catch let error as TrainError {
            let text = "\(error)"
            #expect(text.contains(file4) && text.contains(file2) && text.contains("move the checkpoints directory away"), "\(text)")
        }
    }

    /// A checkpoint whose tensors all verify loads without any notice.
    @Test func soundCheckpointLoadsSilently() throws {
        let dir = try TemporaryDirectory()
        let (_, _) = try setUp(dir)
        let resumed = try trainer(dir.url, steps: 4)
        let step = try resumed.resume()
        #expect(step == 4)
        #expect(resumed.resumeNotices.isEmpty)
    }
}
