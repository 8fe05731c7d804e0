import Foundation
import Testing

/// `xmoe report` on a real tiny run: the PNGs decode with an independent decoder and are not blank,
/// the text summary carries the numbers h5py reads from the run, and bad requests fail clearly.
@Suite(.serialized) struct ReportCommandTests {
    static let documents = (0..<80).map { "{\"text\": \"Psalm \($0). The heavens declare the glory, and the firmament sheweth \($0 % 5) works.\"}" }

    func setUp() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory()
        try dir.write("corpus.jsonl", Self.documents.joined(separator: "\n") + "\n")
        let root = XMoEBinary.repositoryRoot.path
        try dir.write("exp.yaml", """
            extends: \(root)/configs/quickstart.yaml
            name: tiny
            data: {input: corpus.jsonl, vocab_file: \(root)/data/gpt2/vocab.json, merge_file: \(root)/data/gpt2/merges.txt, workers: 1, split: "90,10,0"}
            model: {layers: 3, hidden: 32, heads: 2, ffn_hidden: 64, seq_length: 16}
            moe: {expert_ffn_hidden: 32}
            train: {micro_batch: 2, global_batch: null, iters: 8, warmup_iters: 1, eval_interval: 4, eval_iters: 1, save_interval: 8, threads: 1}
            """)
        return dir
    }

    /// Width, height and the number of distinct colours of each PNG, decoded with Python's zlib and
    /// struct only (CRCs checked), so the encoder is not checked against itself.
    func decode(_ paths: [String]) throws -> [String] {
        let script = """
            import struct, sys, zlib
            for path in sys.argv[1:]:
                data = open(path, 'rb').read()
                assert data[:8] == b'\\x89PNG\\r\\n\\x1a\\n'
                pos, idat = 8, b''
                while pos < len(data):
                    n, = struct.unpack('>I', data[pos:pos+4]); kind = data[pos+4:pos+8]; body = data[pos+8:pos+8+n]
                    assert struct.unpack('>I', data[pos+8+n:pos+12+n])[0] == zlib.crc32(kind + body) & 0xffffffff
                    if kind == b'IHDR': w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
                    if kind == b'IDAT': idat += body
                    pos += 12 + n
                bpp = {2: 3, 6: 4}[ctype]; raw = zlib.decompress(idat); stride = w * bpp
                prev = bytearray(stride); colours = set()
                for y in range(h):
                    f = raw[y*(stride+1)]; line = bytearray(raw[y*(stride+1)+1:(y+1)*(stride+1)])
                    for i in range(stride):
                        a = line[i-bpp] if i >= bpp else 0; b = prev[i]; c = prev[i-bpp] if i >= bpp else 0
                        if f == 1: line[i] = (line[i] + a) & 255
                        elif f == 2: line[i] = (line[i] + b) & 255
                        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
                        elif f == 4:
                            p = a + b - c; pa, pb, pc = abs(p-a), abs(p-b), abs(p-c)
                            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
                    colours.update(bytes(line[i:i+3]) for i in range(0, stride, bpp * 7))
                    prev = line
                print(path.split('/')[-1], w, h, len(colours))
            """
        let (text, status) = try Python.run(script, paths)
        #expect(status == 0, "a PNG did not decode")
        return text.split(separator: "\n").map(String.init)
    }

    func lastEvalLoss(_ metrics: URL) throws -> Double {
        let text = try Python.run("import h5py,sys; print(repr(float(h5py.File(sys.argv[1],'r')['/eval/loss'][-1])))",
                                  [metrics.path]).output
        return Double(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? .nan
    }

    @Test func writesFiguresAndASummaryOfARun() throws {
        let dir = try setUp()
        defer { dir.cleanup() }
        let run = try XMoEBinary.run(["run", "exp.yaml"], in: dir.url)
        #expect(run.status == 0, "\(run.stderr)")
        let report = try XMoEBinary.run(["report", "runs/tiny", "--layers", "1", "2"], in: dir.url)
        #expect(report.status == 0, "\(report.stderr)")
        let out = dir.url.appendingPathComponent("runs/tiny/report")
        let files = ["loss.png", "training.png", "expert-load-tiny.png"].map { out.appendingPathComponent($0).path }
        let decoded = try decode(files)
        #expect(decoded.count == 3)
        for line in decoded {
            let fields = line.split(separator: " ")
            // A real chart: hundreds of pixels wide and tall, and many colours (curves, text, colormap).
            #expect(fields.count == 4 && Int(fields[1])! >= 600 && Int(fields[2])! >= 300 && Int(fields[3])! >= 8, "\(line)")
        }
        let expected = String(format: "%.4f", try lastEvalLoss(dir.url.appendingPathComponent("runs/tiny/metrics.h5")))
        let summary = try String(contentsOf: out.appendingPathComponent("summary.txt"), encoding: .utf8)
        #expect(summary.contains("eval loss   \(expected) at step 8"), "\(summary)")
        #expect(summary.contains("steps       8 / 8"), "\(summary)")
        #expect(report.stdout.contains(summary.trimmingCharacters(in: .newlines)))

        // Layer 0 is the dense one (quickstart: first_dense_layers 1): not an MoE layer.
        let badLayer = try XMoEBinary.run(["report", "runs/tiny", "--layers", "0"], in: dir.url)
        #expect(badLayer.status == 1)
        #expect(badLayer.stderr.contains("no MoE layer 0; its MoE layers are 1, 2"), "\(badLayer.stderr)")
        let missing = try XMoEBinary.run(["report", "runs/nothing"], in: dir.url)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("runs/nothing does not exist"), "\(missing.stderr)")
    }
}
