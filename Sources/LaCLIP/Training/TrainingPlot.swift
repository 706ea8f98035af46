import Foundation

/// Line charts of training curves as a standalone SVG file (any browser or image viewer opens it): one panel
/// per quantity (loss, zero-shot accuracy, ...), one coloured curve per run (mode or seed), with axes, ticks
/// and a legend. Written by the package, no plotting library needed.
public struct TrainingPlot: Sendable {
    /// One curve.
    public struct Series: Sendable {
        /// The legend entry.
        public var name: String
        /// `(x, y)` points in order of x; non-finite points are left out.
        public var points: [(x: Double, y: Double)]

        /// Creates a curve.
        /// - Parameters:
        ///   - name: The legend entry.
        ///   - points: The points.
        public init(name: String, points: [(x: Double, y: Double)]) {
            self.name = name
            self.points = points
        }
    }

    /// One chart.
    public struct Panel: Sendable {
        /// The title above the chart.
        public var title: String
        /// The x-axis label.
        public var xLabel: String
        /// The curves.
        public var series: [Series]

        /// Creates a panel.
        /// - Parameters:
        ///   - title: The title.
        ///   - xLabel: The x-axis label.
        ///   - series: The curves.
        public init(title: String, xLabel: String = "step", series: [Series]) {
            self.title = title
            self.xLabel = xLabel
            self.series = series
        }
    }

    /// The charts, side by side.
    public var panels: [Panel]

    /// Creates a plot.
    /// - Parameter panels: The charts.
    public init(panels: [Panel]) { self.panels = panels }

    /// The standard plot of runs: training loss and every evaluation score against the step, one curve per run.
    /// - Parameter runs: The runs by name, in legend order.
    public static func curves(of runs: [(name: String, history: TrainingHistory)]) -> TrainingPlot {
        var panels = [
            Panel(title: "training loss", series: runs.map { run in
                Series(name: run.name, points: run.history.steps.map { (Double($0.step), $0.loss) })
            })
        ]
        let scoreNames = Set(runs.flatMap { $0.history.evaluations.flatMap { $0.scores.keys } }).sorted()
        for score in scoreNames {
            panels.append(Panel(title: score, series: runs.map { run in
                Series(name: run.name, points: run.history.evaluations.compactMap { record in
                    record.scores[score].map { (Double(record.step), $0) }
                })
            }))
        }
        return TrainingPlot(panels: panels)
    }

    static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]

    /// The SVG document: the panels side by side, one legend for all of them underneath (the runs have the same
    /// colour in every panel).
    public func svg() -> String {
        let panelWidth = 420.0, panelHeight = 300.0
        let left = 60.0, right = 15.0, top = 30.0, bottom = 45.0
        let names = panels.flatMap { $0.series.map(\.name) }.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        let width = panelWidth * Double(Swift.max(panels.count, 1))
        let columns = Swift.max(1, Int(width / 200))
        let legendHeight = 20.0 * Double((names.count + columns - 1) / columns) + 10
        let height = panelHeight + legendHeight
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="11">
            <rect width="100%" height="100%" fill="white"/>

            """
        func color(_ name: String) -> String { Self.colors[(names.firstIndex(of: name) ?? 0) % Self.colors.count] }
        for (index, panel) in panels.enumerated() {
            let x0 = Double(index) * panelWidth + left, y0 = top
            let w = panelWidth - left - right, h = panelHeight - top - bottom
            let points = panel.series.flatMap { $0.points }.filter { $0.x.isFinite && $0.y.isFinite }
            var (xMin, xMax) = (points.map(\.x).min() ?? 0, points.map(\.x).max() ?? 1)
            var (yMin, yMax) = (points.map(\.y).min() ?? 0, points.map(\.y).max() ?? 1)
            if xMax <= xMin { xMax = xMin + 1 }
            if yMax <= yMin { (yMin, yMax) = (yMin - 0.5, yMax + 0.5) }
            let pad = (yMax - yMin) * 0.05
            yMin -= pad
            yMax += pad
            func px(_ x: Double) -> Double { x0 + (x - xMin) / (xMax - xMin) * w }
            func py(_ y: Double) -> Double { y0 + h - (y - yMin) / (yMax - yMin) * h }
            out += "<text x=\"\(f(x0 + w / 2))\" y=\"18\" text-anchor=\"middle\" font-size=\"13\">\(escape(panel.title))</text>\n"
            out += "<rect x=\"\(f(x0))\" y=\"\(f(y0))\" width=\"\(f(w))\" height=\"\(f(h))\" fill=\"none\" stroke=\"#444\"/>\n"
            for yv in Self.ticks(yMin, yMax) {
                out += "<line x1=\"\(f(x0))\" y1=\"\(f(py(yv)))\" x2=\"\(f(x0 + w))\" y2=\"\(f(py(yv)))\" stroke=\"#ddd\"/>\n"
                out += "<text x=\"\(f(x0 - 5))\" y=\"\(f(py(yv) + 4))\" text-anchor=\"end\">\(label(yv))</text>\n"
            }
            for xv in Self.ticks(xMin, xMax) {
                out += "<text x=\"\(f(px(xv)))\" y=\"\(f(y0 + h + 15))\" text-anchor=\"middle\">\(label(xv))</text>\n"
            }
            out += "<text x=\"\(f(x0 + w / 2))\" y=\"\(f(y0 + h + 32))\" text-anchor=\"middle\">\(escape(panel.xLabel))</text>\n"
            for series in panel.series {
                let valid = series.points.filter { $0.x.isFinite && $0.y.isFinite }
                if valid.count == 1 {
                    out += "<circle cx=\"\(f(px(valid[0].x)))\" cy=\"\(f(py(valid[0].y)))\" r=\"3\" fill=\"\(color(series.name))\"/>\n"
                } else if !valid.isEmpty {
                    let path = valid.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
                    out += "<polyline fill=\"none\" stroke=\"\(color(series.name))\" stroke-width=\"1.5\" points=\"\(path)\"/>\n"
                }
            }
        }
        for (i, name) in names.enumerated() {
            let lx = left + Double(i % columns) * 200, ly = panelHeight + 10 + 20 * Double(i / columns)
            out += "<line x1=\"\(f(lx))\" y1=\"\(f(ly))\" x2=\"\(f(lx + 20))\" y2=\"\(f(ly))\" stroke=\"\(color(name))\" stroke-width=\"3\"/>\n"
            out += "<text x=\"\(f(lx + 26))\" y=\"\(f(ly + 4))\">\(escape(name))</text>\n"
        }
        out += "</svg>\n"
        return out
    }

    /// Round tick values (1, 2 or 5 × 10ⁿ apart, about 5 of them) within `low ... high`.
    static func ticks(_ low: Double, _ high: Double) -> [Double] {
        let span = high - low
        guard span > 0, span.isFinite else { return [low] }
        let raw = span / 5
        let magnitude = Foundation.pow(10, (Foundation.log10(raw)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        var values: [Double] = []
        var value = (low / step).rounded(.up) * step
        while value <= high + step * 1e-9 && values.count < 20 {
            values.append(Swift.abs(value) < step * 1e-9 ? 0 : value)
            value += step
        }
        return values
    }

    /// Writes the SVG atomically.
    /// - Parameter url: The file (`.svg`).
    /// - Throws: File errors.
    public func write(to url: URL) throws {
        try Data(svg().utf8).write(to: url, options: .atomic)
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }

    private func label(_ value: Double) -> String {
        let magnitude = Swift.abs(value)
        if magnitude >= 100_000 || (magnitude < 0.001 && magnitude > 0) { return String(format: "%.1e", value) }
        if value == value.rounded() { return String(format: "%.0f", value) }
        return String(format: "%g", (value * 1e6).rounded() / 1e6)
    }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
