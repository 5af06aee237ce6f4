// Embeds every file under Schemas/ into the CaseLedgerCore module, so that the schemas on disk
// stay the single source of truth and the `caseledger` binary still runs from anywhere.
import Foundation
import PackagePlugin

@main
struct EmbedSchemas: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let schemas = context.package.directoryURL.appending(path: "Schemas")
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedSchemas.swift")
        var inputs: [URL] = []
        if let walker = FileManager.default.enumerator(at: schemas, includingPropertiesForKeys: [.isRegularFileKey]) {
            for case let url as URL in walker where ["json", "sql"].contains(url.pathExtension) {
                inputs.append(url)
            }
        }
        return [
            .buildCommand(
                displayName: "Embedding \(inputs.count) files from Schemas/",
                executable: try context.tool(named: "schema-embedder").url,
                arguments: [schemas.path, output.path],
                inputFiles: inputs,
                outputFiles: [output]
            )
        ]
    }
}
