/// RFC 6120 §4 / §11: the libFuzzer target over StreamParser (the C lexer, libxml2 and the
/// Swift element builder). Built and run by Fuzz/run, never by SwiftPM.
///
/// Any crash, sanitizer report or broken oracle (Tests/XMPPTests/StreamParserOracle.swift)
/// traps, so libFuzzer keeps the input.
import XMPP

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStreamParser(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, let input = StreamParserOracle.Input(UnsafeBufferPointer(start: data, count: size)) else { return 0 }
    if let broken = StreamParserOracle.violation(input.stream, limits: input.limits, chunkings: input.chunkings) {
        fatalError("oracle broken: \(broken)")
    }
    return 0
}
