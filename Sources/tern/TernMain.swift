import Shell

/// The executable: everything lives in the Shell library so tests can drive it.
@main
struct TernMain {
    static func main() async {
        await Tern.run(arguments: Array(CommandLine.arguments.dropFirst()))
    }
}
