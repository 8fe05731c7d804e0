/// A boxed list of series names with their line or marker sample, placed in the plot corner that
/// covers the fewest drawn points.
struct Legend {
    struct Entry {
        let name: String
        let color: Color
        let style: SeriesStyle
    }

    let entries: [Entry]

    static let inset = 8.0
    static let padding = 6.0
    static let rowHeight = 16.0
    static let sampleLength = 22.0

    func size() -> (width: Double, height: Double) {
        let widest = Double(entries.map { BitmapFont.regular.measure($0.name) }.max() ?? 0)
        return (2 * Self.padding + Self.sampleLength + 6 + widest, 2 * Self.padding + Self.rowHeight * Double(entries.count) - 3)
    }

    /// Corners in matplotlib's preference order: upper right, upper left, lower left, lower right.
    func candidateBoxes(in plotArea: Rect) -> [Rect] {
        let (w, h) = size()
        let left = plotArea.x + Self.inset, right = plotArea.maxX - Self.inset - w
        let top = plotArea.y + Self.inset, bottom = plotArea.maxY - Self.inset - h
        return [(right, top), (left, top), (left, bottom), (right, bottom)].map {
            Rect(x: $0.0.rounded(), y: $0.1.rounded(), width: w.rounded(), height: h.rounded())
        }
    }

    /// The candidate box containing the fewest points sampled every few pixels along each polyline.
    func bestBox(in plotArea: Rect, avoiding polylines: [[Point]]) -> Rect {
        let boxes = candidateBoxes(in: plotArea)
        var counts = [Int](repeating: 0, count: boxes.count)
        func visit(_ p: Point) {
            for (i, box) in boxes.enumerated() where box.contains(x: p.x, y: p.y) { counts[i] += 1 }
        }
        for line in polylines {
            var previous: Point?
            for p in line {
                guard p.isFinite else {
                    previous = nil
                    continue
                }
                if let a = previous {
                    let length = ((p.x - a.x) * (p.x - a.x) + (p.y - a.y) * (p.y - a.y)).squareRoot()
                    let steps = max(1, Int(length / 3))
                    for k in 1...steps {
                        let t = Double(k) / Double(steps)
                        visit(Point(x: a.x + t * (p.x - a.x), y: a.y + t * (p.y - a.y)))
                    }
                } else {
                    visit(p)
                }
                previous = p
            }
        }
        let best = counts.indices.min { counts[$0] < counts[$1] } ?? 0
        return boxes[best]
    }

    func draw(into canvas: inout Canvas, plotArea: Rect, avoiding polylines: [[Point]]) {
        guard !entries.isEmpty else { return }
        let box = bestBox(in: plotArea, avoiding: polylines)
        canvas.fillRect(box, color: Color.white.withAlpha(0.85))
        canvas.strokeRect(box, color: Color(hex: 0xCCCCCC))
        for (row, entry) in entries.enumerated() {
            let centreY = box.y + Self.padding + Self.rowHeight * Double(row) + Double(BitmapFont.regular.height) / 2
            let sampleX = box.x + Self.padding
            if entry.style.drawsLine {
                canvas.strokeLine(from: Point(x: sampleX, y: centreY), to: Point(x: sampleX + Self.sampleLength, y: centreY),
                                  width: 1.75, color: entry.color, dash: entry.style == .dashed ? [7, 4] : nil)
            }
            if entry.style.drawsMarkers {
                canvas.fillCircle(cx: sampleX + Self.sampleLength / 2, cy: centreY, radius: 3.5, color: entry.color)
            }
            canvas.drawText(entry.name, x: sampleX + Self.sampleLength + 6, y: centreY, align: .left, vAlign: .middle)
        }
    }
}
