/// The Markdown reference of every spec key, generated from `SpecSchema` so the README can't drift
/// (a test compares the README's section with this text).
public enum SpecReference {
    public static var markdown: String {
        var lines: [String] = []
        let groups = [("top level", SpecSchema.keys.filter { $0.section.isEmpty })]
            + SpecSchema.sections.map { ($0, SpecSchema.keys(inSection: $0)) }
        for (title, keys) in groups {
            lines.append("**\(title)**")
            lines.append("")
            lines.append("| key | type | default | meaning |")
            lines.append("|---|---|---|---|")
            for key in keys {
                let doc = key.doc.replacingOccurrences(of: "|", with: "\\|")
                lines.append("| `\(key.path)` | \(key.type.allowed) | `\(key.defaultText)` | \(doc) |")
            }
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }
}
