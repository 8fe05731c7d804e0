/// One panel of a figure.
public enum Panel: Sendable {
    case line(LineChart)
    case heatmap(Heatmap)

    func draw(into canvas: inout Canvas, frame: Rect) {
        switch self {
        case let .line(chart): chart.draw(into: &canvas, frame: frame)
        case let .heatmap(heatmap): heatmap.draw(into: &canvas, frame: frame)
        }
    }
}

/// Panels laid out row by row in a grid, under an optional overall title, rendered into one image.
public struct Figure: Sendable {
    public var title: String?
    public var columns: Int
    public var panels: [Panel]
    public var panelWidth: Int
    public var panelHeight: Int

    static let titleStyle = TextStyle(font: .large)

    public init(title: String?, columns: Int, panels: [Panel], panelSize: (width: Int, height: Int) = (640, 420)) {
        precondition(columns > 0, "a figure needs at least one column")
        precondition(panelSize.width > 0 && panelSize.height > 0, "panel size must be positive")
        self.title = title
        self.columns = columns
        self.panels = panels
        panelWidth = panelSize.width
        panelHeight = panelSize.height
    }

    var rows: Int { max(1, (panels.count + columns - 1) / columns) }
    var titleHeight: Int { (title ?? "").isEmpty ? 0 : BitmapFont.large.height + 16 }

    /// The rectangle of panel `index` in the rendered image.
    public func frame(ofPanel index: Int) -> Rect {
        Rect(x: Double((index % columns) * panelWidth), y: Double(titleHeight + (index / columns) * panelHeight),
             width: Double(panelWidth), height: Double(panelHeight))
    }

    public func render() -> Canvas {
        let usedColumns = min(columns, max(1, panels.count))
        var canvas = Canvas(width: usedColumns * panelWidth, height: titleHeight + rows * panelHeight)
        if let title, !title.isEmpty {
            canvas.drawText(title, x: Double(canvas.width) / 2, y: 10, style: Self.titleStyle, align: .center, vAlign: .top)
        }
        for (index, panel) in panels.enumerated() {
            panel.draw(into: &canvas, frame: frame(ofPanel: index))
        }
        return canvas
    }

    public func writePNG(to path: String) throws { try render().writePNG(to: path) }
}
