import Testing
@testable import XMoEPlot

@Suite struct TextTests {
    func inkInside(_ canvas: Canvas, _ box: Rect) -> (inside: Int, outside: Int) {
        var inside = 0, outside = 0
        for y in 0..<canvas.height {
            for x in 0..<canvas.width where canvas.pixel(x: x, y: y) != .white {
                if Double(x) >= box.x && Double(x) < box.maxX && Double(y) >= box.y && Double(y) < box.maxY {
                    inside += 1
                } else {
                    outside += 1
                }
            }
        }
        return (inside, outside)
    }

    @Test(arguments: [(1, false), (2, false), (1, true), (2, true)])
    func textStaysInsideItsMeasuredBox(scale: Int, vertical: Bool) {
        let text = "Hg|y_ Loss 1e-4 {}"
        for align in [HorizontalAlignment.left, .center, .right] {
            var canvas = Canvas(width: 400, height: 400)
            let style = TextStyle(scale: scale, vertical: vertical)
            let box = canvas.drawText(text, x: 200, y: 200, style: style, align: align, vAlign: .middle)
            // misc-fixed 7x13: every character advances 7 pixels.
            let along = Double(7 * text.count * scale), across = Double(13 * scale)
            #expect(box.width == (vertical ? across : along) && box.height == (vertical ? along : across))
            let counts = inkInside(canvas, box)
            #expect(counts.inside > 20 * scale * scale && counts.outside == 0)
            switch align {
            case .left: #expect(box.x == 200)
            case .center: #expect(abs(box.x + box.width / 2 - 200) <= 0.5)
            case .right: #expect(box.maxX == 200)
            }
        }
    }

    @Test func verticalTextReadsBottomToTop() {
        var canvas = Canvas(width: 60, height: 60)
        let box = canvas.drawText("_", x: 10, y: 10, style: TextStyle(vertical: true))
        // An underscore sits low in its cell; rotated counter-clockwise, "low" becomes the right side.
        var inkColumns = Set<Int>()
        for y in 0..<60 { for x in 0..<60 where canvas.pixel(x: x, y: y) != .white { inkColumns.insert(x) } }
        #expect(inkColumns.allSatisfy { Double($0) > box.x + box.width / 2 })
    }
}
