import Foundation
import PackagePlugin

/// Records the git commit the package is built from, before every build, as `buildCommit` in a
/// generated `GitCommit.swift`: the commit of the build, not of whatever checkout the binary
/// later runs in. The commit gets a `-dirty` suffix when the package's manifest or sources
/// differ from it, and is `unknown` outside a git checkout of the package (or without git).
/// The file is rewritten only when its text changes, so an unchanged commit recompiles nothing.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let directory = context.pluginWorkDirectoryURL.appending(path: "generated")
        let output = directory.appending(path: "GitCommit.swift")
        // git runs with safe.directory='*' (a checkout owned by another user, as in a container,
        // is still read), trusts only a checkout that tracks this package's Package.swift (not
        // an outer repository the sources were unpacked into), and takes no index lock (a
        // concurrent `git commit` is not disturbed). Dirty means Package.swift, Sources or
        // Plugins differ from the commit (new files there included): what the build compiles.
        let script = """
            cd "$1" || exit 1
            g() { git -c safe.directory='*' --no-optional-locks "$@"; }
            commit=unknown
            if g ls-files --error-unmatch Package.swift >/dev/null 2>&1; then
                commit=$(g rev-parse --verify HEAD 2>/dev/null) || commit=unknown
                changed=$(g status --porcelain --untracked-files=normal -- Package.swift Sources Plugins 2>/dev/null)
                if [ "$commit" != unknown ] && [ -n "$changed" ]; then
                    commit="$commit-dirty"
                fi
            fi
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
