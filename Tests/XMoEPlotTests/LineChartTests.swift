import Testing
@testable import XMoEPlot

@Suite struct LineChartTests {
    static let blue = Color(hex: 0x1F77B4)

    /// Pixels where the tab10 blue dominates (grid, text and spines are grey).
    func bluePixels(_ canvas: Canvas, in area: Rect) -> [(x: Int, y: Int)] {
        var found = [(x: Int, y: Int)]()
        for y in Int(area.y) + 2..<Int(area.maxY) - 2 {
            for x in Int(area.x) + 2..<Int(area.maxX) - 2 {
                let c = canvas.pixel(x: x, y: y)
                if Int(c.b) - Int(c.r) > 40 { found.append((x, y)) }
            }
        }
        return found
    }

    func diagonalChart(y: [Double]) -> LineChart {
        LineChart(title: "diagonal", xLabel: "x", yLabel: "y",
                  series: [Series(name: "y = x", x: (0...100).map { Double($0) / 10 }, y: y)],
                  xLimits: 0...10, yLimits: 0...10, showsLegend: false)
    }

    @Test func straightSeriesLiesOnThePlotAreaDiagonal() {
        let chart = diagonalChart(y: (0...100).map { Double($0) / 10 })
        let canvas = chart.render(width: 640, height: 420)
        let area = chart.layout(in: Rect(x: 0, y: 0, width: 640, height: 420)).plotArea
        let pixels = bluePixels(canvas, in: area)
        // The line from (area.x, area.maxY) to (area.maxX, area.y), independently of the chart's mapping code.
        let dx = area.width, dy = -area.height, length = (dx * dx + dy * dy).squareRoot()
        for p in pixels {
            let distance = abs((Double(p.x) - area.x) * dy - (Double(p.y) - area.maxY) * dx) / length
            #expect(distance <= 2, "pixel (\(p.x), \(p.y)) is \(distance) px off the diagonal")
        }
        let columns = Set(pixels.map(\.x))
        #expect(columns.count >= Int(area.width) - 6, "the line should cover every column of the plot area")
    }

    @Test func nanBreaksTheLine() {
        let y = (0...100).map { i -> Double in (41...59).contains(i) ? .nan : Double(i) / 10 }
        let chart = diagonalChart(y: y)
        let canvas = chart.render(width: 640, height: 420)
        let area = chart.layout(in: Rect(x: 0, y: 0, width: 640, height: 420)).plotArea
        let gapStart = area.x + 0.4 * area.width + 3, gapEnd = area.x + 0.6 * area.width - 3
        let pixels = bluePixels(canvas, in: area)
        #expect(!pixels.contains { Double($0.x) > gapStart && Double($0.x) < gapEnd })
        #expect(pixels.contains { Double($0.x) < gapStart } && pixels.contains { Double($0.x) > gapEnd })
    }

    @Test func degenerateInputsStillRender() {
        let cases: [[Series]] = [
            [],
            [Series(name: "empty", x: [], y: [])],
            [Series(name: "one point", x: [3], y: [5], style: .markers)],
            [Series(name: "constant", x: [0, 1, 2], y: [4, 4, 4])],
            [Series(name: "all nan", x: [0, 1], y: [.nan, .infinity])],
        ]
        for series in cases {
            let chart = LineChart(title: "t", xLabel: "x", yLabel: "y", series: series)
            let layout = chart.layout(in: Rect(x: 0, y: 0, width: 400, height: 300))
            #expect(layout.xLimits.lowerBound < layout.xLimits.upperBound)
            #expect(layout.yLimits.lowerBound < layout.yLimits.upperBound)
            _ = chart.render(width: 400, height: 300)
        }
        let single = LineChart(title: "", xLabel: "", yLabel: "", series: [Series(name: "p", x: [3], y: [5])])
            .layout(in: Rect(x: 0, y: 0, width: 400, height: 300))
        #expect(single.xLimits.contains(3) && single.yLimits.contains(5))
    }

    @Test func logAxisPlacesDecadesEvenly() {
        let chart = LineChart(title: "lr", xLabel: "step", yLabel: "lr",
                              series: [Series(name: "lr", x: [0, 1, 2], y: [1e-5, 1e-4, 1e-3])], logY: true,
                              yLimits: 1e-6...1e-2)
        let layout = chart.layout(in: Rect(x: 0, y: 0, width: 640, height: 420))
        let area = layout.plotArea
        for (k, value) in [1e-6, 1e-5, 1e-4, 1e-3, 1e-2].enumerated() {
            let expected = area.maxY - Double(k) / 4 * area.height
            #expect(abs(layout.pixel(x: 0, y: value)!.y - expected) < 1e-6)
        }
        #expect(layout.pixel(x: 0, y: 0) == nil && layout.pixel(x: 0, y: -1) == nil)
        #expect(layout.yTicks.map(\.label) == ["1e-6", "1e-5", "1e-4", "0.001", "0.01"])
    }

    @Test func legendGoesToTheEmptiestCorner() {
        // A curve hugging the top: the legend must move to a lower corner.
        let x = (0...50).map(Double.init)
        let chart = LineChart(title: "", xLabel: "", yLabel: "",
                              series: [Series(name: "top", x: x, y: x.map { _ in 10 }),
                                       Series(name: "also top", x: x, y: x.map { 9.8 + 0.004 * $0 })],
                              yLimits: 0...10.5)
        let area = chart.layout(in: Rect(x: 0, y: 0, width: 640, height: 420)).plotArea
        let legend = Legend(entries: [Legend.Entry(name: "top", color: .black, style: .line),
                                      Legend.Entry(name: "also top", color: .black, style: .line)])
        let layout = chart.layout(in: Rect(x: 0, y: 0, width: 640, height: 420))
        let points = chart.series.map { s in s.x.indices.map { layout.pixel(x: s.x[$0], y: s.y[$0])! } }
        let box = legend.bestBox(in: area, avoiding: points)
        #expect(box.y > area.y + area.height / 2)
    }
}
