/// A matrix drawn as coloured cells (row 0 at the top, like matplotlib's imshow) with a colorbar.
public struct Heatmap: Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    /// rows × columns; row r is drawn at height r from the top. Non-finite cells are drawn grey.
    public var values: [[Double]]
    /// One x value per column (e.g. the step), used for the x tick labels; nil: column indices.
    public var xValues: [Double]?
    public var colorbarLabel: String
    /// Values mapped to the colormap's ends; nil: the finite minimum and maximum.
    public var colorLimits: ClosedRange<Double>?
    public var colormap: Colormap

    static let missingColor = Color(hex: 0xD9D9D9)
    static let colorbarWidth = 14.0
    static let colorbarGap = 14.0

    public init(title: String, xLabel: String, yLabel: String, values: [[Double]], xValues: [Double]? = nil,
                colorbarLabel: String = "", colorLimits: ClosedRange<Double>? = nil, colormap: Colormap = .viridis) {
        precondition(Set(values.map(\.count)).count <= 1, "heatmap '\(title)' has rows of different lengths")
        precondition(xValues == nil || xValues?.count == values.first?.count ?? 0,
                     "heatmap '\(title)' has \(xValues?.count ?? 0) x values for \(values.first?.count ?? 0) columns")
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.values = values
        self.xValues = xValues
        self.colorbarLabel = colorbarLabel
        self.colorLimits = colorLimits
        self.colormap = colormap
    }

    var rowCount: Int { values.count }
    var columnCount: Int { values.first?.count ?? 0 }

    /// The colour limits actually used: given, or the finite range (widened by ±0.5 when constant).
    public var resolvedColorLimits: ClosedRange<Double> {
        if let colorLimits { return colorLimits }
        let finite = values.joined().filter(\.isFinite)
        guard let lo = finite.min(), let hi = finite.max() else { return 0...1 }
        return lo < hi ? lo...hi : (lo - 0.5)...(hi + 0.5)
    }

    public func color(for value: Double) -> Color { color(for: value, limits: resolvedColorLimits) }

    func color(for value: Double, limits: ClosedRange<Double>) -> Color {
        guard value.isFinite else { return Self.missingColor }
        let span = limits.upperBound - limits.lowerBound
        let t = span > 0 ? (value - limits.lowerBound) / span : 0.5
        return colormap.color(at: min(1, max(0, t)))
    }

    public func layout(in frame: Rect) -> HeatmapLayout {
        let axes = AxesFrame(title: title, xLabel: xLabel, yLabel: yLabel)
        let (top, bottom) = axes.verticalExtent(in: frame)
        let height = max(1, bottom - top)
        let rows = max(1, rowCount), columns = max(1, columnCount)
        // Row indices: integer ticks only, at cell centres.
        let rowValues = Ticks.linear(0, Double(rows - 1), maxCount: max(2, Int(height / 28)))
            .filter { $0 == $0.rounded() }
        let rowLabels = rowValues.map { Ticks.format($0) }
        let left = axes.left(in: frame, yTickLabels: rowLabels)
        let limits = resolvedColorLimits
        let barValues = Ticks.linear(limits.lowerBound, limits.upperBound, maxCount: max(2, Int(height / 40)))
        let barLabels = AxisScale.labels(barValues, log: false)
        let barLabelWidth = Double(barLabels.map { BitmapFont.regular.measure($0) }.max() ?? 0)
        var rightReserve = Self.colorbarGap + Self.colorbarWidth + AxesFrame.tickLength + AxesFrame.tickGap + barLabelWidth
        if !colorbarLabel.isEmpty { rightReserve += AxesFrame.labelGap + Double(BitmapFont.regular.height) }
        let right = (frame.maxX - AxesFrame.padding - rightReserve).rounded()
        let plotArea = Rect(x: left, y: top, width: max(1, right - left), height: height)
        let colorbar = Rect(x: plotArea.maxX + 1 + Self.colorbarGap, y: top, width: Self.colorbarWidth, height: height)
        let cellHeight = plotArea.height / Double(rows)
        let yTicks = zip(rowValues, rowLabels).map { AxisTick(position: top + ($0 + 0.5) * cellHeight, label: $1) }
        let cellWidth = plotArea.width / Double(columns)
        let first = xValues?.first ?? 0, last = xValues?.last ?? Double(columns - 1)
        let xTicks = AxesFrame.fittingTicks(maxCount: Int(plotArea.width / 70)) { count in
            let values = Ticks.linear(min(first, last), max(first, last), maxCount: count)
                .filter { xValues != nil || $0 == $0.rounded() }
            return zip(values, AxisScale.labels(values, log: false)).map { value, label in
                let column = last == first ? 0 : (value - first) / (last - first) * Double(columns - 1)
                return AxisTick(position: left + (column + 0.5) * cellWidth, label: label)
            }
        }
        let span = limits.upperBound - limits.lowerBound
        let barTicks = zip(barValues, barLabels).map { value, label in
            AxisTick(position: colorbar.maxY - (span > 0 ? (value - limits.lowerBound) / span : 0.5) * height, label: label)
        }
        return HeatmapLayout(plotArea: plotArea, colorbar: colorbar, xTicks: xTicks, yTicks: yTicks, colorbarTicks: barTicks)
    }

    public func draw(into canvas: inout Canvas, frame: Rect) {
        let layout = layout(in: frame)
        let area = layout.plotArea
        let x0 = Int(area.x), y0 = Int(area.y), w = Int(area.width), h = Int(area.height)
        if rowCount > 0 && columnCount > 0 {
            // Nearest cell per pixel: crisp cells at any size, and no seams between them.
            let limits = resolvedColorLimits
            let rowColors = values.map { $0.map { color(for: $0, limits: limits) } }
            for py in 0..<h {
                let row = min(rowCount - 1, (py * rowCount) / h)
                for px in 0..<w {
                    let column = min(columnCount - 1, (px * columnCount) / w)
                    canvas.blend(x: x0 + px, y: y0 + py, color: rowColors[row][column])
                }
            }
        } else {
            canvas.drawText("no data", x: area.x + area.width / 2, y: area.y + area.height / 2,
                            style: TextStyle(color: .axisGrey), align: .center, vAlign: .middle)
        }
        AxesFrame(title: title, xLabel: xLabel, yLabel: yLabel)
            .drawDecoration(into: &canvas, frame: frame, plotArea: area, xTicks: layout.xTicks, yTicks: layout.yTicks)
        drawColorbar(into: &canvas, frame: frame, layout: layout)
    }

    private func drawColorbar(into canvas: inout Canvas, frame: Rect, layout: HeatmapLayout) {
        let bar = layout.colorbar
        let top = Int(bar.y), height = Int(bar.height)
        for py in 0..<height {
            let color = colormap.color(at: 1 - (Double(py) + 0.5) / Double(height))
            canvas.fillRect(Rect(x: bar.x, y: Double(top + py), width: bar.width, height: 1), color: color)
        }
        let outline = Rect(x: bar.x - 1, y: bar.y - 1, width: bar.width + 2, height: bar.height + 2)
        canvas.strokeRect(outline, color: AxesFrame.spineColor)
        var labelRight = outline.maxX
        for tick in layout.colorbarTicks {
            let y = tick.position.rounded()
            canvas.fillRect(Rect(x: outline.maxX, y: y, width: AxesFrame.tickLength, height: 1), color: AxesFrame.spineColor)
            let box = canvas.drawText(tick.label, x: outline.maxX + AxesFrame.tickLength + AxesFrame.tickGap, y: y + 0.5,
                                      style: AxesFrame.tickStyle, align: .left, vAlign: .middle)
            labelRight = max(labelRight, box.maxX)
        }
        if !colorbarLabel.isEmpty {
            canvas.drawText(colorbarLabel, x: labelRight + AxesFrame.labelGap, y: bar.y + bar.height / 2,
                            style: TextStyle(vertical: true), align: .left, vAlign: .middle)
        }
    }

    public func render(width: Int = 640, height: Int = 420) -> Canvas {
        var canvas = Canvas(width: width, height: height)
        draw(into: &canvas, frame: Rect(x: 0, y: 0, width: Double(width), height: Double(height)))
        return canvas
    }
}

/// The resolved geometry of a heatmap: cells fill `plotArea` (row 0 at the top), the colorbar beside it.
public struct HeatmapLayout: Sendable {
    public let plotArea: Rect
    public let colorbar: Rect
    public let xTicks: [AxisTick]
    public let yTicks: [AxisTick]
    public let colorbarTicks: [AxisTick]
}
