extension SweepTable {
    /// A GitHub table, padded so the columns line up in a terminal too: text left-aligned, numbers
    /// right-aligned, missing values "—".
    public func markdown() -> String {
        let shown = columns.filter(\.inMarkdown)
        let cells = rows.map { row in shown.map { escapeMarkdown($0.value(of: row).shown) } }
        let widths = shown.indices.map { c in
            max(3, ([shown[c].name] + cells.map { $0[c] }).map(\.count).max() ?? 0)
        }
        func line(_ items: [String]) -> String {
            "| " + items.indices.map { c in
                let pad = String(repeating: " ", count: widths[c] - items[c].count)
                return shown[c].kind == .number ? pad + items[c] : items[c] + pad
            }.joined(separator: " | ") + " |"
        }
        let rule = "|" + shown.indices.map { c in
            let dashes = String(repeating: "-", count: widths[c] + 1)
            return shown[c].kind == .number ? dashes + ":" : ":" + dashes
        }.joined(separator: "|") + "|"
        return ([line(shown.map(\.name)), rule] + cells.map(line)).joined(separator: "\n") + "\n"
    }

    /// RFC 4180: CRLF line ends, a header row, fields quoted when they hold a comma, quote, CR or LF
    /// (quotes doubled). Numbers at full precision; a missing value is an empty field.
    public func csv() -> String {
        let all = columns
        let lines = [all.map(\.name)] + rows.map { row in all.map { $0.value(of: row).raw } }
        return lines.map { $0.map(quoteCSV).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
    }

    private func quoteCSV(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) else {
            return field
        }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    private func escapeMarkdown(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\r\n", with: " ")
            .replacingOccurrences(of: "\n", with: " ")
    }
}
