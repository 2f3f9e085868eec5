import Foundation
import PackagePlugin

/// Records the git commit the package is built from, before every build, as `buildCommit` in a
/// generated `GitCommit.swift`: the commit of the build, not of whatever checkout the binary
/// later runs in. The commit gets a `-dirty` suffix when tracked files differ from it, and is
/// `unknown` outside a git checkout (or without git). The file is rewritten only when its text
/// changes, so an unchanged commit recompiles nothing.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let directory = context.pluginWorkDirectoryURL.appending(path: "generated")
        let output = directory.appending(path: "GitCommit.swift")
        let script = """
            cd "$1" || exit 1
            commit=$(git rev-parse --verify HEAD 2>/dev/null) || commit=unknown
            if [ "$commit" != unknown ] && ! git diff --quiet HEAD -- 2>/dev/null; then commit="$commit-dirty"; fi
            mkdir -p "$(dirname "$2")"
            printf '/// Written by the BuildInfo plugin at build time.\\nlet buildCommit = "%s"\\n' "$commit" > "$2.new"
            if cmp -s "$2.new" "$2"; then rm -f "$2.new"; else mv "$2.new" "$2"; fi
            """
        return [
            .prebuildCommand(
                displayName: "Recording the git commit of the build",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", script, "sh", context.package.directoryURL.path, output.path],
                outputFilesDirectory: directory)
        ]
    }
}
