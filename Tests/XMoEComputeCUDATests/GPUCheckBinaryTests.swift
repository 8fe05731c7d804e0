import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Runs the built `xmoe-gpu-check` as a user would on a machine without a GPU (CI): it must say
/// what is missing and exit 2, and its checker must pass agreeing backends and fail a real error.
@Suite struct GPUCheckBinaryTests {
    static let binary: URL = {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("xmoe-gpu-check").path), url.path != "/" {
            url.deleteLastPathComponent()
        }
        return url.appendingPathComponent("xmoe-gpu-check")
    }()

    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    var noGPU: Bool { !FileManager.default.fileExists(atPath: "/dev/nvidia0") }

    /// Whether the loader finds a library (a machine with the CUDA toolkit but no GPU has NVRTC).
    func loadable(_ names: [String]) -> Bool {
        names.contains { name in
            guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else { return false }
            dlclose(handle)
            return true
        }
    }

    @Test func withoutCUDAItNamesTheMissingLibraryAndExits2() throws {
        guard noGPU else { return }
        // An empty loader path keeps a developer's CUDA install (if any) out of reach.
        let result = try run([], environment: ["LD_LIBRARY_PATH": "/nonexistent"])
        #expect(result.status == 2)
        // Without the runtime the message names it and every file tried; with the toolkit but no
        // driver or GPU, it names what is missing instead.
        let runtimeMissing = !loadable(["libcudart.so.13", "libcudart.so.12", "libcudart.so"])
        let named = runtimeMissing
            ? result.error.contains("libcudart.so.13") && result.error.contains("libcudart.so.12")
            : result.error.contains("CUDA backend:")
        #expect(named, "\(result.error)")
    }

    @Test func compileOnlyWithoutNVRTCNamesIt() throws {
        guard !loadable(["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"]) else { return }
        let result = try run(["--compile-only", "sm_90"], environment: ["LD_LIBRARY_PATH": "/nonexistent"])
        #expect(result.status == 1)
        let named = result.error.contains("libnvrtc")
        #expect(named, "\(result.error)")
    }

    /// CPU against CPU: the grouped GEMMs (and weight gradient) with zero-row experts agree bit for bit.
    @Test func agreeingBackendsPass() throws {
        let result = try run(["--cpu-only", "--seed", "5", "--no-training", "--only", "counts [0, 7, 1, 0, 20] k33"])
        #expect(result.status == 0, "\(result.output)\(result.error)")
        let ok = result.output.contains("gpu-check: OK (3 op checks")
        #expect(ok, "\(result.output)")
    }

    /// The dropout checks (caller's masks of 0 and 1/(1−p), tolerance 0) and the case of views at
    /// non-zero offsets into one buffer run on two CPU backends: every view lies inside its buffer
    /// (a precondition stops the process otherwise) and the whole buffer, untouched stretches
    /// included, agrees bit for bit.
    @Test func dropoutAndViewChecksRun() throws {
        for (fragment, expected) in [("dropout fwd", 3), ("views at offsets", 1)] {
            let result = try run(["--cpu-only", "--seed", "7", "--no-training", "--only", fragment])
            #expect(result.status == 0, "\(result.output)\(result.error)")
            let ok = result.output.contains("gpu-check: OK (\(expected) op check")
            #expect(ok, "\(result.output)")
        }
    }

    /// The CPU's sequential fp32 sum over 50 304 logits is ~8e-5 off float64, over the 1e-5
    /// threshold: the checker must catch it and exit 1.
    @Test func aRealErrorFails() throws {
        let result = try run(["--cpu-only", "--seed", "5", "--no-training", "--only", "softmax fwd+bwd [3, 50304]"])
        #expect(result.status == 1, "\(result.output)")
        let failed = result.output.contains("FAIL softmax fwd+bwd [3, 50304]") && result.output.contains("gpu-check: FAILED 1")
        #expect(failed, "\(result.output)")
    }
}
