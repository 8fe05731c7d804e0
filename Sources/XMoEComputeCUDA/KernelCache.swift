import Foundation
import XMoEBase

/// Where a compiled cubin lives on disk: keyed by everything that changes the machine code (the
/// source's hash, the target architecture, the NVRTC version and the compile options), so a new
/// driver, GPU or kernel never loads a stale binary.
public struct KernelCacheKey: Equatable, Sendable {
    public let sourceHash: String
    public let arch: String
    public let nvrtcVersion: String
    public let options: [String]

    public init(source: String, arch: String, nvrtcVersion: String, options: [String]) {
        sourceHash = SHA256.hex(source)
        self.arch = arch
        self.nvrtcVersion = nvrtcVersion
        self.options = options
    }

    /// e.g. `sm_90-nvrtc13.0-<sha256 of source and options>.cubin`.
    public var fileName: String {
        let digest = SHA256.hex(([sourceHash, arch, nvrtcVersion] + options).joined(separator: "\u{0}"))
        return "\(arch)-nvrtc\(nvrtcVersion)-\(digest.prefix(32)).cubin"
    }

    /// `$XMOE_NVRTC_CACHE`, else `$XDG_CACHE_HOME/xmoe/nvrtc`, else `~/.cache/xmoe/nvrtc`.
    public static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let explicit = environment["XMOE_NVRTC_CACHE"], !explicit.isEmpty {
            return URL(fileURLWithPath: explicit, isDirectory: true)
        }
        let base = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0, isDirectory: true) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache", isDirectory: true)
        return base.appendingPathComponent("xmoe/nvrtc", isDirectory: true)
    }
}

/// Cubins on disk. A cache that cannot be read or written only costs a recompile, never a failure.
public struct KernelDiskCache: Sendable {
    public let directory: URL

    public init(directory: URL = KernelCacheKey.defaultDirectory()) { self.directory = directory }

    public func load(_ key: KernelCacheKey) -> [UInt8]? {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent(key.fileName)), !data.isEmpty else {
            return nil
        }
        return [UInt8](data)
    }

    public func store(_ cubin: [UInt8], for key: KernelCacheKey) {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try AtomicWrite.write(Data(cubin), to: directory.appendingPathComponent(key.fileName))
        } catch {
            // Read-only home or full disk: the next start compiles again.
        }
    }
}
