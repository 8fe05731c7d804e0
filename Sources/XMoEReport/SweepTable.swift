/// One row per sweep point: the point's name, the values of the keys the sweep varies (in the given
/// column order), then the run's summary numbers and status. Writers: `markdown()`, `csv()`,
/// `writeHDF5(path:)`.
public struct SweepTable: Sendable {
    public struct Row: Sendable {
        public var point: String
        /// Varied key → value as the sweep set it (`"moe.top_k": "2"`); a key without a value is missing.
        public var values: [String: String]
        public var summary: RunSummary

        public init(point: String, values: [String: String], summary: RunSummary) {
            self.point = point
            self.values = values
            self.summary = summary
        }
    }

    /// The varied keys, in column order.
    public var keys: [String]
    public var rows: [Row]

    public init(keys: [String], rows: [Row]) {
        self.keys = keys
        self.rows = rows
    }

    /// Every column in order: `point`, the keys, then `SweepTable.summaryColumns`.
    public var columns: [SweepColumn] {
        let point = SweepColumn(name: "point", units: "", kind: .text, inMarkdown: true) { .text($0.point) }
        let varied = keys.map { key -> SweepColumn in
            let given = rows.compactMap { $0.values[key] }
            // A key whose every value is a number is a number column (right-aligned, float64 in HDF5).
            let numeric = !given.isEmpty && given.allSatisfy { Double($0) != nil }
            return SweepColumn(name: key, units: "", kind: numeric ? .number : .text, inMarkdown: true) { row in
                row.values[key].map { .text($0) } ?? .missing
            }
        }
        return [point] + varied + Self.summaryColumns
    }

    /// The summary's columns; `error` only goes to CSV and HDF5 (too long for a table cell).
    public static let summaryColumns: [SweepColumn] = [
        SweepColumn(name: "status", units: "", kind: .text, inMarkdown: true) { .text($0.summary.status.label) },
        SweepColumn(name: "error", units: "", kind: .text, inMarkdown: false) { row in
            row.summary.status.error.map { .text($0) } ?? .missing
        },
        .integer("steps", "steps") { $0.stepsDone },
        .integer("iters", "steps") { $0.stepsPlanned },
        .integer("tokens", "tokens", format: { ReportFormat.count($0) }) { $0.tokensSeen },
        .real("train_loss", "nats/token", format: ReportFormat.loss) { $0.finalTrainLoss },
        .real("eval_loss", "nats/token", format: ReportFormat.loss) { $0.finalEvalLoss },
        .real("best_eval_loss", "nats/token", format: ReportFormat.loss) { $0.bestEvalLoss },
        .integer("best_eval_step", "steps") { $0.bestEvalStep },
        .real("tokens_per_s", "tokens/s", format: ReportFormat.count) { $0.tokensPerSecond },
        .real("dropped_fraction", "1", format: ReportFormat.percent) { $0.meanDroppedFraction },
        .real("load_imbalance", "1 (max/mean tokens per expert)", format: ReportFormat.ratio) { $0.expertLoadImbalance },
        .real("wall_time_s", "s", format: ReportFormat.duration) { $0.wallTimeSeconds },
    ]
}

/// One column of a `SweepTable`: its name, units (for HDF5 attributes), and how to read a row's cell.
public struct SweepColumn: Sendable {
    public enum Kind: Sendable { case text, number }

    public var name: String
    public var units: String
    public var kind: Kind
    public var inMarkdown: Bool
    let cell: @Sendable (SweepTable.Row) -> SweepCell

    init(name: String, units: String, kind: Kind, inMarkdown: Bool, cell: @escaping @Sendable (SweepTable.Row) -> SweepCell) {
        self.name = name
        self.units = units
        self.kind = kind
        self.inMarkdown = inMarkdown
        self.cell = cell
    }

    static func integer(_ name: String, _ units: String, format: @escaping @Sendable (Double) -> String = { String(Int($0)) },
                        _ value: @escaping @Sendable (RunSummary) -> Int?) -> SweepColumn {
        SweepColumn(name: name, units: units, kind: .number, inMarkdown: true) { row in
            value(row.summary).map { .integer($0, shown: format(Double($0))) } ?? .missing
        }
    }

    static func real(_ name: String, _ units: String, format: @escaping @Sendable (Double?) -> String,
                     _ value: @escaping @Sendable (RunSummary) -> Double?) -> SweepColumn {
        SweepColumn(name: name, units: units, kind: .number, inMarkdown: true) { row in
            value(row.summary).map { .real($0, shown: format($0)) } ?? .missing
        }
    }

    public func value(of row: SweepTable.Row) -> SweepCell { cell(row) }
}

/// A table cell: raw value (for CSV and HDF5) and its display form (for Markdown).
public enum SweepCell: Sendable, Equatable {
    case text(String)
    case integer(Int, shown: String)
    case real(Double, shown: String)
    case missing

    /// Full precision: integers as integers, reals as Swift's shortest round-trip text; empty when missing.
    public var raw: String {
        switch self {
        case .text(let text): text
        case .integer(let value, _): String(value)
        case .real(let value, _): "\(value)"
        case .missing: ""
        }
    }

    /// Short form for people; "—" when missing.
    public var shown: String {
        switch self {
        case .text(let text): text
        case .integer(_, let shown), .real(_, let shown): shown
        case .missing: ReportFormat.missing
        }
    }

    /// The cell as a float64 (NaN when missing or not a number).
    public var number: Double {
        switch self {
        case .integer(let value, _): Double(value)
        case .real(let value, _): value
        case .text(let text): Double(text) ?? .nan
        case .missing: .nan
        }
    }
}
