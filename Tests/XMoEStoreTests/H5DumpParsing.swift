/// The parts of one object in `h5dump -y -w 0` output that the independent checks assert on.
struct H5DumpObject {
    /// Everything between `DATATYPE` and `DATASPACE`, whitespace removed.
    var datatype: String
    /// The `DATASPACE` line, whitespace removed: `SIMPLE{(3)/(H5S_UNLIMITED)}`.
    var dataspace: String
    /// The values inside the object's own `DATA { }` block, in order.
    var values: [String]
    /// The whole block, for layout lines such as `CHUNKED ( 4 )`.
    var text: String

    /// Finds `DATASET "name" {` or `ATTRIBUTE "name" {` and cuts out its block by brace depth.
    init?(in dump: String, kind: String, name: String) {
        let lines = dump.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let opening = "\(kind) \"\(name)\" {"
        guard let start = lines.firstIndex(where: { $0.trimmedSpaces() == opening }) else { return nil }
        var depth = 0
        var block: [String] = []
        for line in lines[start...] {
            block.append(line)
            depth += line.count(of: "{") - line.count(of: "}")
            if depth == 0 { break }
        }
        text = block.joined(separator: "\n")
        let compact = { (s: String) in s.filter { !$0.isWhitespace } }
        let typeStart = block.firstIndex { $0.trimmedSpaces().hasPrefix("DATATYPE") } ?? 0
        let spaceIndex = block.firstIndex { $0.trimmedSpaces().hasPrefix("DATASPACE") } ?? 0
        datatype = compact(block[typeStart..<spaceIndex].joined()).replacingPrefix("DATATYPE")
        dataspace = compact(block[spaceIndex]).replacingPrefix("DATASPACE")
        values = []
        if let dataStart = block.firstIndex(where: { $0.trimmedSpaces() == "DATA {" }) {
            for line in block[(dataStart + 1)...] {
                if line.trimmedSpaces() == "}" { break }
                values += line.split(separator: ",").map { String($0).trimmedSpaces() }.filter { !$0.isEmpty }
            }
        }
    }
}

private extension String {
    func trimmedSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }

    func count(of character: Character) -> Int { filter { $0 == character }.count }

    func replacingPrefix(_ prefix: String) -> String { hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self }
}
