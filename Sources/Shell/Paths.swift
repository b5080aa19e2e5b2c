import Foundation

/// Where tern keeps its data (XDG Base Directory, overridable by `--home` or `TERN_HOME`).
public enum Paths {
    public static func home(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let explicit, !explicit.isEmpty { return absolute(explicit) }
        if let home = environment["TERN_HOME"], !home.isEmpty { return absolute(home) }
        if let data = environment["XDG_DATA_HOME"], !data.isEmpty { return absolute(data) + "/tern" }
        let userHome = environment["HOME"] ?? NSHomeDirectory()
        return userHome + "/.local/share/tern"
    }

    static func absolute(_ path: String) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return expanded }
        return FileManager.default.currentDirectoryPath + "/" + expanded
    }
}
