import Foundation
import PackagePlugin

/// Records the git commit the package is built from as `buildCommit` in a generated
/// `GitCommit.swift`: the commit of the build, not of whatever checkout the binary later runs
/// in. The commit gets a `-dirty` suffix when the package's manifest or sources differ from it,
/// and is `unknown` outside a git checkout of the package (or without git).
///
/// A build command, not a prebuild command: SwiftPM runs a prebuild command only when it plans
/// the build again (a changed manifest, a file added), so an incremental build after a commit
/// or an edit kept the commit of an older build (swift-package-manager#5476). This command's
/// inputs are `Package.swift`, every file under `Sources` and `Plugins`, and the checkout's
/// `HEAD`, index, reflog, branch ref and packed refs, so it runs again whenever one of them
/// changes (a file added or removed makes SwiftPM plan again, which re-reads the list). The
/// file is rewritten only when its text changes, so an unchanged commit recompiles nothing.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "generated").appending(path: "GitCommit.swift")
        let package = context.package.directoryURL
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
        // What the dirty check reads (Package.swift, every file under Sources and Plugins),
        // and what a commit, a checkout or a reset changes in the checkout.
        var inputs = [package.appending(path: "Package.swift")]
        inputs += Self.files(under: package.appending(path: "Sources"))
        inputs += Self.files(under: package.appending(path: "Plugins"))
        inputs += Self.checkoutFiles(above: package)
        return [
            .buildCommand(
                displayName: "Recording the git commit of the build",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", script, "sh", package.path, output.path],
                inputFiles: inputs.filter { FileManager.default.fileExists(atPath: $0.path) },
                outputFiles: [output])
        ]
    }

    /// Every regular file under `directory` (none when it does not exist).
    static func files(under directory: URL) -> [URL] {
        guard
            let walk = FileManager.default.enumerator(
                at: directory, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles])
        else { return [] }
        return walk.compactMap { item in
            guard let url = item as? URL, (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true
            else { return nil }
            return url
        }
    }

    /// The files of the git checkout holding `directory` that a commit, a checkout, a reset or
    /// staging changes: `HEAD`, the index, the reflog of `HEAD`, the branch's ref and the packed
    /// refs (none outside a checkout).
    static func checkoutFiles(above directory: URL) -> [URL] {
        var current = directory.standardizedFileURL
        while true {
            let dotGit = current.appending(path: ".git")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: dotGit.path, isDirectory: &isDirectory) {
                var gitDirectory = dotGit
                // A worktree's or submodule's `.git` is a file naming its git directory.
                if !isDirectory.boolValue {
                    guard let text = try? String(contentsOf: dotGit, encoding: .utf8),
                        let line = text.split(separator: "\n").first, line.hasPrefix("gitdir: ")
                    else { return [] }
                    let path = String(line.dropFirst("gitdir: ".count))
                    gitDirectory =
                        path.hasPrefix("/") ? URL(fileURLWithPath: path) : current.appending(path: path)
                }
                // A linked worktree keeps its HEAD, index and reflog; the refs are in the
                // repository's common directory (named by its `commondir` file).
                var common = gitDirectory
                if let text = try? String(contentsOf: gitDirectory.appending(path: "commondir"), encoding: .utf8) {
                    let path = text.trimmingCharacters(in: .whitespacesAndNewlines)
                    common = path.hasPrefix("/") ? URL(fileURLWithPath: path) : gitDirectory.appending(path: path)
                }
                var files = ["HEAD", "index", "logs/HEAD"].map { gitDirectory.appending(path: $0) }
                files.append(common.appending(path: "packed-refs"))
                if let head = try? String(contentsOf: gitDirectory.appending(path: "HEAD"), encoding: .utf8),
                    head.hasPrefix("ref: ")
                {
                    let ref = String(head.dropFirst("ref: ".count)).trimmingCharacters(in: .whitespacesAndNewlines)
                    files.append(common.appending(path: ref))
                }
                return files
            }
            let parent = current.deletingLastPathComponent()
            if parent.path == current.path { return [] }
            current = parent
        }
    }
}
