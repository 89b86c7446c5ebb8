/// Builds Prometheus text exposition format 0.0.4, line by line.
struct ExpositionWriter {
    private(set) var bytes: [UInt8] = []

    init() {
        bytes.reserveCapacity(16 * 1024)
    }

    /// `# HELP` and `# TYPE`, once per family.
    mutating func header(name: String, help: String, type: String) {
        append("# HELP ")
        append(name)
        append(" ")
        // In HELP text only backslash and newline are escaped.
        escape(help, quotes: false)
        append("\n# TYPE ")
        append(name)
        append(" ")
        append(type)
        append("\n")
    }

    /// `name{label="value",...} value`; `extra` is one more label after the family's (`le`).
    mutating func sample(_ name: String, suffix: String = "", labels: [String], values: [String],
                         extra: (label: String, value: String)? = nil, value: String) {
        append(name)
        append(suffix)
        if !labels.isEmpty || extra != nil {
            bytes.append(UInt8(ascii: "{"))
            var first = true
            for (label, labelValue) in zip(labels, values) {
                pair(label, labelValue, first: first)
                first = false
            }
            if let extra { pair(extra.label, extra.value, first: first) }
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: " "))
        append(value)
        bytes.append(UInt8(ascii: "\n"))
    }

    private mutating func pair(_ label: String, _ value: String, first: Bool) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        append(label)
        append("=\"")
        // Label values also escape the double quote that ends them.
        escape(value, quotes: true)
        bytes.append(UInt8(ascii: "\""))
    }

    /// Backslash and newline always, double quote when asked; every other byte as it is.
    private mutating func escape(_ text: String, quotes: Bool) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): append("\\\\")
            case UInt8(ascii: "\n"): append("\\n")
            case UInt8(ascii: "\"") where quotes: append("\\\"")
            default: bytes.append(byte)
            }
        }
    }

    private mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// A float as Prometheus (Go's ParseFloat) reads it: integers without a fraction, `+Inf`,
    /// `-Inf` and `NaN` spelled its way, everything else in Swift's shortest round-trip form
    /// (`0.00025`, `1e-05`, `1.5e+20`).
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
