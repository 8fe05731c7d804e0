import Foundation
import Testing
@testable import XMoEComputeCUDA

@Suite struct KernelCacheTests {
    @Test func keyChangesWithEverythingThatChangesTheBinary() {
        let base = KernelCacheKey(source: "a", arch: "sm_90", nvrtcVersion: "13.0", options: ["-x"])
        let variants = [
            KernelCacheKey(source: "b", arch: "sm_90", nvrtcVersion: "13.0", options: ["-x"]),
            KernelCacheKey(source: "a", arch: "sm_80", nvrtcVersion: "13.0", options: ["-x"]),
            KernelCacheKey(source: "a", arch: "sm_90", nvrtcVersion: "12.9", options: ["-x"]),
            KernelCacheKey(source: "a", arch: "sm_90", nvrtcVersion: "13.0", options: ["-y"]),
        ]
        let names = Set(variants.map(\.fileName) + [base.fileName])
        #expect(names.count == 5)
        let same = KernelCacheKey(source: "a", arch: "sm_90", nvrtcVersion: "13.0", options: ["-x"]).fileName
        #expect(same == base.fileName)
        #expect(base.fileName.hasPrefix("sm_90-nvrtc13.0-"))
    }

    @Test func directoryFollowsTheEnvironment() {
        let explicit = KernelCacheKey.defaultDirectory(environment: ["XMOE_NVRTC_CACHE": "/tmp/k", "XDG_CACHE_HOME": "/tmp/x"])
        #expect(explicit.path == "/tmp/k")
        let xdg = KernelCacheKey.defaultDirectory(environment: ["XDG_CACHE_HOME": "/tmp/x"])
        #expect(xdg.path == "/tmp/x/xmoe/nvrtc")
    }

    @Test func storedCubinLoadsBackAndAMissOrUnwritableDirectoryIsNil() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("xmoe-nvrtc-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let cache = KernelDiskCache(directory: directory)
        let key = KernelCacheKey(source: "kernel", arch: "sm_90", nvrtcVersion: "13.0", options: [])
        #expect(cache.load(key) == nil)
        cache.store([1, 2, 3, 250], for: key)
        #expect(cache.load(key) == [1, 2, 3, 250])
        let other = KernelCacheKey(source: "kernel2", arch: "sm_90", nvrtcVersion: "13.0", options: [])
        #expect(cache.load(other) == nil)
        // A cache under a regular file cannot be created: storing is silently skipped.
        let blocked = KernelDiskCache(directory: directory.appendingPathComponent("file/sub"))
        try Data([0]).write(to: directory.appendingPathComponent("file"))
        blocked.store([9], for: key)
        #expect(blocked.load(key) == nil)
    }
}
