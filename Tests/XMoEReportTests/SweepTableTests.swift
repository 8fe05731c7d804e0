import Foundation
import Testing
import XMoEReport

@Suite("SweepTable writers read back by Python's csv module and h5py")
struct SweepTableTests {
    /// Three points: a complete run (h5py fixture), a failed one whose error needs CSV quoting, and one
    /// not started and missing a key value.
    func table(_ fixture: FixtureRun) throws -> (SweepTable, [String: Any]) {
        try fixture.writeSpec()
        let expected = try fixture.writeMetrics()
        try fixture.writeRecord(step: "train", status: "complete", duration: 30.5)
        let done = try RunSummary.load(runDirectory: fixture.run)
        let failed = RunSummary(name: "b", metrics: nil, records: [
            "train": RecordedStep(step: "train", status: .failed, startedAt: Date(), durationSeconds: 2,
                                  error: "rank 1: \"NaN\", at step 3\nsee log")], spec: nil)
        let idle = RunSummary(name: "c", metrics: nil, records: [:], spec: nil)
        let table = SweepTable(keys: ["moe.top_k", "moe.gating"], rows: [
            .init(point: "top_k=2", values: ["moe.top_k": "2", "moe.gating": "softmax_topk"], summary: done),
            .init(point: "top_k=4", values: ["moe.top_k": "4", "moe.gating": "sigmoid_bias"], summary: failed),
            .init(point: "top_k|8", values: ["moe.gating": "softmax_topk"], summary: idle),
        ])
        return (table, expected)
    }

    @Test func csvParsesBackWithPythonCSV() throws {
        let fixture = try FixtureRun()
        defer { fixture.remove() }
        let (table, expected) = try table(fixture)
        let path = fixture.root.appendingPathComponent("table.csv").path
        try table.csv().write(toFile: path, atomically: true, encoding: .utf8)
        let json = try runPython("""
            import csv, json, sys
            with open(sys.argv[1], newline="") as f: print(json.dumps(list(csv.reader(f, strict=True))))
            """, [path])
        let rows = try #require(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String]])
        #expect(rows.count == 4)
        let header = rows[0]
        #expect(Array(header.prefix(5)) == ["point", "moe.top_k", "moe.gating", "status", "error"])
        func cell(_ row: Int, _ name: String) throws -> String { rows[row][try #require(header.firstIndex(of: name))] }
        #expect(try cell(1, "status") == "complete")
        let trainLoss = try cell(1, "train_loss")
        #expect(Double(trainLoss) == double(expected["final_train_loss"]), "\(trainLoss)")  // full precision
        #expect(try Double(cell(1, "load_imbalance")).map { close($0, double(expected["load_imbalance"])) } == true)
        #expect(try Int(cell(1, "tokens")) == int(expected["tokens_seen"]))
        #expect(try cell(1, "wall_time_s") == "30.5")
        #expect(try cell(2, "error") == "rank 1: \"NaN\", at step 3\nsee log")
        #expect(try cell(2, "train_loss") == "")
        #expect(try cell(3, "point") == "top_k|8" && cell(3, "moe.top_k") == "" && cell(3, "status") == "not started")
    }

    @Test func hdf5ReadsBackWithH5py() throws {
        let fixture = try FixtureRun()
        defer { fixture.remove() }
        let (table, expected) = try table(fixture)
        let path = fixture.root.appendingPathComponent("table.h5").path
        try table.writeHDF5(path: path)
        let json = try runPython("""
            import h5py, json, math, sys
            f = h5py.File(sys.argv[1], "r")
            out = {"columns": f.attrs["columns"].split("\\n"), "rows": int(f.attrs["rows"])}
            for name in out["columns"]:
                d = f[name]
                if d.attrs["kind"] == "text":
                    vals = [bytes(r).rstrip(b"\\0").decode("utf-8") for r in d[()]]
                else:
                    assert d.dtype == "f8" and d.shape == (out["rows"],)
                    vals = [None if math.isnan(v) else repr(float(v)) for v in d[()]]
                out[name] = {"values": vals, "units": d.attrs["units"], "index": int(d.attrs["column_index"])}
            print(json.dumps(out))
            """, [path])
        let read = try #require(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let columns = try #require(read["columns"] as? [String])
        #expect(columns == table.columns.map(\.name))
        #expect(int(read["rows"]) == 3)
        func column(_ name: String) throws -> [String: Any] { try #require(read[name] as? [String: Any]) }
        #expect(try column("point")["values"] as? [String] == ["top_k=2", "top_k=4", "top_k|8"])
        #expect(try column("status")["values"] as? [String] == ["complete", "failed", "not started"])
        let topK = try #require(try column("moe.top_k")["values"] as? [Any])
        #expect(double(topK[0]) == 2 && double(topK[1]) == 4 && topK[2] is NSNull)
        let loss = try #require(try column("train_loss")["values"] as? [Any])
        #expect(double(loss[0]) == double(expected["final_train_loss"]) && loss[1] is NSNull)
        #expect(try column("tokens_per_s")["units"] as? String == "tokens/s")
        #expect(try int(column("wall_time_s")["index"]) == columns.firstIndex(of: "wall_time_s"))
        let error = try #require(try column("error")["values"] as? [String])
        #expect(error == ["", "rank 1: \"NaN\", at step 3\nsee log", ""])
        // Atomic write: nothing but the table is left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.root.path).filter { $0.contains("table") } == ["table.h5"])
    }

    @Test func markdownIsAnAlignedTable() throws {
        let fixture = try FixtureRun()
        defer { fixture.remove() }
        let (table, expected) = try table(fixture)
        let lines = table.markdown().split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        #expect(lines.count == 2 + 3)
        let shown = table.columns.filter { $0.name != "error" }.map(\.name)
        // Split on unescaped pipes only.
        func cells(_ line: String) -> [String] {
            let unescaped = line.replacingOccurrences(of: "\\|", with: "\u{1}")
            return unescaped.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast()
                .map { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "\u{1}", with: "|") }
        }
        #expect(cells(lines[0]) == shown)
        #expect(lines.allSatisfy { cells($0).count == shown.count })
        #expect(Set(lines.map(\.count)).count == 1, "rows are padded to one width")
        #expect(cells(lines[1]).allSatisfy { $0.allSatisfy { "-:".contains($0) } })
        let first = cells(lines[2]), third = cells(lines[4])
        #expect(first[shown.firstIndex(of: "train_loss")!] == String(format: "%.4f", double(expected["final_train_loss"])!))
        #expect(first[shown.firstIndex(of: "status")!] == "complete")
        #expect(third[0] == "top_k|8" && third[shown.firstIndex(of: "moe.top_k")!] == "—")
        #expect(third[shown.firstIndex(of: "eval_loss")!] == "—")
    }
}
