import Foundation

/// A line chart: named series, autoscaled or fixed limits, optional log y, grid, legend.
public struct LineChart: Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var logY: Bool
    /// Fixed x limits in data units; nil autoscales with a 5 % margin.
    public var xLimits: ClosedRange<Double>?
    /// Fixed y limits in data units (both > 0 when `logY`); nil autoscales.
    public var yLimits: ClosedRange<Double>?
    public var showsLegend: Bool

    public init(title: String, xLabel: String, yLabel: String, series: [Series], logY: Bool = false,
                xLimits: ClosedRange<Double>? = nil, yLimits: ClosedRange<Double>? = nil, showsLegend: Bool = true) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.logY = logY
        self.xLimits = xLimits
        self.yLimits = yLimits
        self.showsLegend = showsLegend
    }

    /// Where everything goes inside `frame`; `pixel(x:y:)` maps data to pixels.
    public func layout(in frame: Rect) -> ChartLayout {
        let axes = AxesFrame(title: title, xLabel: xLabel, yLabel: yLabel)
        let xScale = xLimits.map { AxisScale(lower: $0.lowerBound, upper: $0.upperBound, isLog: false) }
            ?? AxisScale.autoscaled(series.flatMap { s in s.x.indices.filter { s.y[$0].isFinite }.map { s.x[$0] } },
                                    log: false)
        let yScale = yLimits.map { AxisScale(lower: $0.lowerBound, upper: $0.upperBound, isLog: logY) }
            ?? AxisScale.autoscaled(series.flatMap { s in s.y.indices.filter { s.x[$0].isFinite }.map { s.y[$0] } },
                                    log: logY)
        let (top, bottom) = axes.verticalExtent(in: frame)
        let yTickValues = yScale.ticks(maxCount: max(2, Int((bottom - top) / 40)))
        let yTickLabels = AxisScale.labels(yTickValues, log: logY)
        let left = axes.left(in: frame, yTickLabels: yTickLabels)
        let right = (frame.maxX - AxesFrame.padding - 14).rounded()
        let plotArea = Rect(x: left, y: top, width: max(1, right - left), height: max(1, bottom - top))
        let mapping = ChartLayout(plotArea: plotArea, xScale: xScale, yScale: yScale, xTicks: [], yTicks: [])
        let yTicks = zip(yTickValues, yTickLabels).compactMap { value, label in
            mapping.pixelY(value).map { AxisTick(position: $0, label: label) }
        }
        let xTicks = AxesFrame.fittingTicks(maxCount: Int(plotArea.width / 70)) { count in
            let values = xScale.ticks(maxCount: count)
            return zip(values, AxisScale.labels(values, log: false)).compactMap { value, label in
                mapping.pixelX(value).map { AxisTick(position: $0, label: label) }
            }
        }
        return ChartLayout(plotArea: plotArea, xScale: xScale, yScale: yScale, xTicks: xTicks, yTicks: yTicks)
    }

    public func draw(into canvas: inout Canvas, frame: Rect) {
        let layout = layout(in: frame)
        let axes = AxesFrame(title: title, xLabel: xLabel, yLabel: yLabel)
        if logY { drawMinorLogGrid(into: &canvas, layout: layout) }
        axes.drawGrid(into: &canvas, plotArea: layout.plotArea, xTicks: layout.xTicks, yTicks: layout.yTicks)
        var drawn = [(series: Series, color: Color, points: [Point])]()
        for (index, s) in series.enumerated() {
            let color = s.color ?? Color.cycle(index)
            let points = s.x.indices.map { layout.pixel(x: s.x[$0], y: s.y[$0]) ?? Point(x: .nan, y: .nan) }
            drawn.append((s, color, points))
            if s.style.drawsLine {
                canvas.strokePolyline(points, width: s.lineWidth, color: color,
                                      dash: s.style == .dashed ? [7, 4] : nil, clip: layout.plotArea)
            }
            if s.style.drawsMarkers {
                for p in points where p.isFinite && layout.plotArea.contains(x: p.x, y: p.y) {
                    canvas.fillCircle(cx: p.x, cy: p.y, radius: s.markerRadius, color: color)
                }
            }
        }
        if !drawn.contains(where: { $0.points.contains(where: \.isFinite) }) {
            canvas.drawText("no data", x: layout.plotArea.x + layout.plotArea.width / 2,
                            y: layout.plotArea.y + layout.plotArea.height / 2,
                            style: TextStyle(color: .axisGrey), align: .center, vAlign: .middle)
        }
        axes.drawDecoration(into: &canvas, frame: frame, plotArea: layout.plotArea,
                            xTicks: layout.xTicks, yTicks: layout.yTicks)
        if showsLegend {
            let entries = drawn.filter { !$0.series.name.isEmpty }
                .map { Legend.Entry(name: $0.series.name, color: $0.color, style: $0.series.style) }
            Legend(entries: entries).draw(into: &canvas, plotArea: layout.plotArea, avoiding: drawn.map(\.points))
        }
    }

    public func render(width: Int = 640, height: Int = 420) -> Canvas {
        var canvas = Canvas(width: width, height: height)
        draw(into: &canvas, frame: Rect(x: 0, y: 0, width: Double(width), height: Double(height)))
        return canvas
    }

    /// Fainter lines at 2…9 × each decade, so a log axis with few labelled decades still reads.
    private func drawMinorLogGrid(into canvas: inout Canvas, layout: ChartLayout) {
        let area = layout.plotArea
        let first = Int(log10(layout.yLimits.lowerBound).rounded(.down))
        let last = Int(log10(layout.yLimits.upperBound).rounded(.up))
        guard first < last, last - first <= 12 else { return }
        for decade in first..<last {
            for multiple in 2...9 {
                guard let y = layout.pixelY(Double(multiple) * pow(10, Double(decade))),
                      y > area.y, y < area.maxY else { continue }
                canvas.fillRect(Rect(x: area.x, y: y.rounded(), width: area.width, height: 1), color: Self.minorGridColor)
            }
        }
    }

    static let minorGridColor = Color(hex: 0xF2F2F2)
}

/// The resolved geometry of a line chart.
public struct ChartLayout: Sendable {
    /// The rectangle data is drawn in; data limits map to its edges.
    public let plotArea: Rect
    let xScale: AxisScale
    let yScale: AxisScale
    public let xTicks: [AxisTick]
    public let yTicks: [AxisTick]

    public var xLimits: ClosedRange<Double> { xScale.lower...xScale.upper }
    public var yLimits: ClosedRange<Double> { yScale.lower...yScale.upper }

    /// Pixel position of a data point (may lie outside the plot area); nil if it cannot be drawn.
    public func pixel(x: Double, y: Double) -> Point? {
        guard let px = pixelX(x), let py = pixelY(y) else { return nil }
        return Point(x: px, y: py)
    }

    func pixelX(_ x: Double) -> Double? { xScale.fraction(x).map { plotArea.x + $0 * plotArea.width } }
    func pixelY(_ y: Double) -> Double? { yScale.fraction(y).map { plotArea.maxY - $0 * plotArea.height } }
}
