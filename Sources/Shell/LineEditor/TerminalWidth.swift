/// The terminal's width, for output that must fit one line (`/list`).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension LineEditor {
    /// Columns of the output terminal (TIOCGWINSZ, asked each time so a resize counts);
    /// 80 when it is not a terminal or does not say.
    public var columns: Int {
        var size = winsize()
        guard interactive, ioctl(output, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }
}
