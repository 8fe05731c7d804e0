import Foundation
import Testing
@testable import XMoEComputeCUDA

@Suite struct LibraryLoadingTests {
    @Test func missingLibraryNamesEveryCandidateAndTheLoaderError() throws {
        let error = try #require(throws: CUDAError.self) {
            _ = try CUDARuntimeAPI(candidates: ["libxmoe-no-such-cudart.so.13", "libxmoe-no-such-cudart.so.12"])
        }
        guard case let .libraryMissing(library, tried, dlerror) = error else {
            Issue.record("expected libraryMissing, got \(error)")
            return
        }
        #expect(library == "libcudart")
        #expect(tried == ["libxmoe-no-such-cudart.so.13", "libxmoe-no-such-cudart.so.12"])
        let namesFile = dlerror.contains("libxmoe-no-such-cudart.so.13")
        #expect(namesFile)
        let text = error.description
        let saysWhatToInstall = text.contains("libcudart") && text.contains("CUDA 12 or 13") && text.contains("CPU backend")
        #expect(saysWhatToInstall)
    }

    /// A real library that lacks the CUDA functions (zlib, which every machine here has).
    @Test func libraryWithoutTheSymbolNamesTheSymbol() throws {
        let error = try #require(throws: CUDAError.self) {
            _ = try CUBLASAPI(candidates: ["libz.so.1"])
        }
        guard case let .symbolMissing(library, symbol, _) = error else {
            Issue.record("expected symbolMissing, got \(error)")
            return
        }
        #expect(library == "libz.so.1")
        #expect(symbol == "cublasCreate_v2")
    }

    @Test func optionalSymbolIsNilNotAnError() throws {
        let zlib = try DynamicLibrary(name: "zlib", candidates: ["libz.so.1"])
        let missing = zlib.optionalFunction("cublasSgemmGroupedBatched", as: (@convention(c) () -> Void).self)
        #expect(missing == nil)
        typealias Crc32 = @convention(c) (UInt, UnsafePointer<UInt8>?, UInt32) -> UInt
        let crc32 = try zlib.function("crc32", as: Crc32.self)
        let bytes: [UInt8] = Array("123456789".utf8)
        let value = bytes.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) }
        #expect(value == 0xCBF4_3926)  // the CRC-32 check value of "123456789"
    }

    /// CI machines have no GPU: constructing the backend must throw, not crash.
    @Test func backendWithoutCUDAThrows() throws {
        guard !FileManager.default.fileExists(atPath: "/dev/nvidia0") else { return }
        #expect(throws: CUDAError.self) { _ = try CUDABackend() }
    }
}
