// swift-tools-version:6.0
import PackageDescription

// One module per layer of DESIGN.md; a lower layer never imports a higher one.
// C interop stays in the thin C* targets: nothing above Store/Compute/Parallel sees a C type.
let package = Package(
    name: "xmoe",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "xmoe", targets: ["xmoe"]),
        .executable(name: "xmoe-comm-check", targets: ["xmoe-comm-check"]),
        .executable(name: "xmoe-gpu-check", targets: ["xmoe-gpu-check"]),
        .executable(name: "xmoe-dispatch-check", targets: ["xmoe-dispatch-check"]),
        .executable(name: "xmoe-train-check", targets: ["xmoe-train-check"]),
    ],
    dependencies: [
        // Yams vendors its own libyaml (CYaml): never link the system libyaml beside it.
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        // SHA-256 of data files and checkpoint tensors (BoringSSL's, with SHA-NI/AVX2 code paths).
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
    ],
    targets: [
        // Native libraries (Debian: libhdf5-dev, libopenmpi-dev + openmpi-bin, libopenblas-dev).
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5-serial", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "CMPIShim", dependencies: ["CMPI"]),

        // Layers. XMoEBase holds the few utilities every layer shares (hashing, atomic writes).
        .target(name: "XMoEBase", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "XMoESpec", dependencies: ["XMoEBase", .product(name: "Yams", package: "Yams")]),
        .target(name: "XMoEPipeline", dependencies: ["XMoEBase"]),
        .target(name: "XMoEStore", dependencies: ["CHDF5"]),
        .target(name: "XMoECompute", dependencies: ["COpenBLAS"]),
        .target(name: "XMoEModel", dependencies: ["XMoECompute"]),
        // The CUDA backend: CUDA libraries are dlopen'ed at run time, so nothing CUDA links here.
        .target(name: "XMoEComputeCUDA", dependencies: ["XMoECompute", "XMoEBase"]),
        // Checks every CUDA op against the CPU backend on a GPU machine: `xmoe-gpu-check`.
        .executableTarget(name: "xmoe-gpu-check", dependencies: ["XMoEComputeCUDA", "XMoECompute", "XMoEModel"]),
        .target(name: "XMoEParallel", dependencies: ["CMPIShim", "XMoEModel"]),
        .target(name: "XMoEData", dependencies: ["CZlib", "XMoEBase"]),
        // Checks MPI collectives across real ranks: `mpirun -np 4 xmoe-comm-check`.
        .executableTarget(name: "xmoe-comm-check", dependencies: ["XMoEParallel"]),
        // Checks the token dispatchers against the local one across real ranks: `mpirun -np 4 xmoe-dispatch-check`.
        .executableTarget(name: "xmoe-dispatch-check", dependencies: ["XMoEParallel", "XMoEModel", "XMoECompute"]),
        .target(name: "XMoETrain", dependencies: ["XMoEModel", "XMoEParallel", "XMoEStore", "XMoECompute", "XMoEBase"]),
        // Trains one tiny model under any layout (`mpirun -np 4 xmoe-train-check train --dp 4 …`).
        .executableTarget(name: "xmoe-train-check", dependencies: ["XMoETrain", "XMoEParallel", "XMoEModel", "XMoECompute"]),
        // PNG charts drawn in Swift (line charts, heatmaps), so reports need no plotting stack.
        .target(name: "XMoEPlot", dependencies: ["CZlib"], exclude: ["Generators"]),
        // Reads run directories (metrics.h5, step records) into summaries, tables and figures.
        .target(name: "XMoEReport", dependencies: ["XMoEBase", "XMoEStore", "XMoESpec", "XMoEPlot"]),
        .executableTarget(name: "xmoe", dependencies: [
            "XMoESpec", "XMoEPipeline", "XMoEStore", "XMoEData", "XMoEParallel", "XMoECompute", "XMoEModel", "XMoETrain",
            "XMoEReport", "XMoEPlot", "XMoEComputeCUDA",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Benchmarks (release builds; see Benchmarks/*/README.md).
        .executableTarget(name: "xmoe-bench-tokenizer", dependencies: ["XMoEData"], path: "Benchmarks/tokenizer/Swift"),
        .executableTarget(name: "xmoe-bench-train", dependencies: ["XMoEModel", "XMoETrain", "XMoECompute", "COpenBLAS"],
                          path: "Benchmarks/training/Swift"),
        .executableTarget(name: "xmoe-bench-prepare-data", dependencies: ["XMoEData"], path: "Benchmarks/prepare-data/Swift"),
        .executableTarget(name: "xmoe-bench-hash", dependencies: ["XMoEBase"], path: "Benchmarks/hash/Swift"),

        // Tests mirror the modules; XMoECLITests runs the built `xmoe` binary.
        .testTarget(name: "XMoEBaseTests", dependencies: ["XMoEBase"]),
        .testTarget(name: "XMoESpecTests", dependencies: ["XMoESpec"]),
        .testTarget(name: "XMoEPipelineTests", dependencies: ["XMoEPipeline"]),
        .testTarget(name: "XMoEStoreTests", dependencies: ["XMoEStore"]),
        .testTarget(name: "XMoEComputeTests", dependencies: ["XMoECompute"]),
        .testTarget(name: "XMoEComputeCUDATests", dependencies: ["XMoEComputeCUDA", "XMoECompute", "XMoEModel", "XMoEParallel", "xmoe-gpu-check"]),
        .testTarget(name: "XMoEModelTests", dependencies: ["XMoEModel"],
                    exclude: ["Golden/golden.h5", "Golden/golden.bin", "Golden/golden.json"]),
        .testTarget(name: "XMoETrainTests", dependencies: ["XMoETrain", "XMoEModel", "XMoEStore", "XMoECompute"]),
        .testTarget(name: "XMoEParallelTests", dependencies: ["XMoEParallel", "xmoe-comm-check", "xmoe-dispatch-check",
                                                             "xmoe-train-check"]),
        .testTarget(name: "XMoEDataTests", dependencies: ["XMoEData"], exclude: ["Tokenizer/Fixtures", "Fixtures", "Prepare/Fixtures"]),
        .testTarget(name: "XMoEPlotTests", dependencies: ["XMoEPlot"]),
        .testTarget(name: "XMoEReportTests", dependencies: ["XMoEReport", "XMoEStore", "XMoESpec"]),
        .testTarget(name: "XMoECLITests", dependencies: ["xmoe", "XMoESpec"]),
    ],
    swiftLanguageModes: [.v6]
)
