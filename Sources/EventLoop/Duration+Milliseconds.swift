extension Duration {
    /// Whole milliseconds (the rest dropped), the unit of the loop's clock and deadlines.
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
