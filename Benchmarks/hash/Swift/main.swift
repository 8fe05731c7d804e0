// SHA-256 throughput on files: `xmoe-bench-hash FILE... [--passes N] [--skip-own]`. For each file,
// hashes it with ContentDigest (swift-crypto, streamed from disk) and with XMoEBase's own SHA256
// (whole file in memory), checks both digests agree, and prints one JSON line per file with MB/s of
// each (best of N passes, page cache warm after the first). `--skip-own` leaves out our SHA256
// (far too slow in a debug build to be worth measuring there).
import Foundation
import XMoEBase

var files: [String] = []
var passes = 3
var skipOwn = false
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    if argument == "--passes", let n = arguments.popFirst().flatMap({ Int($0) }) {
        passes = n
    } else if argument == "--skip-own" {
        skipOwn = true
    } else {
        files.append(argument)
    }
}
guard !files.isEmpty else {
    FileHandle.standardError.write(Data("usage: xmoe-bench-hash FILE... [--passes N]\n".utf8))
    exit(2)
}

func seconds(_ body: () throws -> String) rethrows -> (String, Double) {
    let start = DispatchTime.now().uptimeNanoseconds
    let digest = try body()
    return (digest, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
}

for file in files {
    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
    var crypto: [Double] = [], own: [Double] = []
    var digests: Set<String> = []
    for _ in 0..<passes {
        let (a, ta) = try seconds { try ContentDigest.sha256(fileAt: file) }
        digests.insert(a)
        crypto.append(ta)
        if !skipOwn {
            let (b, tb) = seconds { SHA256.hex(bytes: bytes) }
            digests.insert(b)
            own.append(tb)
        }
    }
    guard digests.count == 1 else { fatalError("digests differ for \(file): \(digests)") }
    let mb = Double(bytes.count) / 1e6
    var line = "{\"file\": \"\(file)\", \"bytes\": \(bytes.count), \"sha256\": \"\(digests.first!)\", "
        + "\"swift_crypto_MBps\": \(Int(mb / crypto.min()!))"
    if let ownBest = own.min() {
        line += ", \"xmoebase_sha256_MBps\": \(Int(mb / ownBest)), \"ratio\": \(String(format: "%.1f", ownBest / crypto.min()!))"
    }
    print(line + "}")
}
