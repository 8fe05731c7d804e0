// Tokenizer throughput on a JSONL corpus, one thread: `xmoe-bench-tokenizer VOCAB_DIR CORPUS.jsonl [PASSES]`.
// Prints one JSON line: bytes, tokens, an FNV-1a checksum of all ids (so the driver can check that
// both implementations produced the same ids) and seconds per pass. Pass 1 starts with an empty
// piece cache; later passes reuse the same tokenizer (warm cache), as a long prepare-data run would.
import Foundation
import XMoEData

struct Document: Decodable { let text: String }

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: xmoe-bench-tokenizer VOCAB_DIR CORPUS.jsonl [PASSES]\n".utf8))
    exit(2)
}
let passes = arguments.count > 3 ? Int(arguments[3]) ?? 3 : 3

let corpus = try Data(contentsOf: URL(fileURLWithPath: arguments[2]))
let decoder = JSONDecoder()
let texts = try corpus.split(separator: UInt8(ascii: "\n")).map { try decoder.decode(Document.self, from: $0).text }
let totalBytes = texts.reduce(0) { $0 + $1.utf8.count }

let loadStart = Date()
var tokenizer = try GPT2Tokenizer(directory: URL(fileURLWithPath: arguments[1]))
let loadSeconds = Date().timeIntervalSince(loadStart)

var seconds: [Double] = []
var tokens = 0
var checksum: UInt64 = 0xcbf2_9ce4_8422_2325
var ids: [Int32] = []
for pass in 0..<passes {
    let start = DispatchTime.now().uptimeNanoseconds
    var count = 0
    for text in texts {
        ids.removeAll(keepingCapacity: true)
        tokenizer.encode(text, appendingTo: &ids)
        count += ids.count
        if pass == 0 {
            for id in ids { checksum = (checksum ^ UInt64(UInt32(bitPattern: id))) &* 0x0000_0100_0000_01B3 }
        }
    }
    seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    tokens = count
}
print("{\"impl\": \"xmoe-swift\", \"documents\": \(texts.count), \"bytes\": \(totalBytes), \"tokens\": \(tokens), "
    + "\"checksum\": \(checksum), \"load_seconds\": \(loadSeconds), \"seconds\": \(seconds)}")
