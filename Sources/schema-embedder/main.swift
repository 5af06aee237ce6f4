// Build-time tool for the EmbedSchemas plugin: writes Schemas/**/*.{json,sql} as Swift string constants.
import Foundation

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: schema-embedder SCHEMAS_DIR OUTPUT.swift\n".utf8))
    exit(2)
}
let root = URL(fileURLWithPath: arguments[1]).standardizedFileURL
var files: [(path: String, text: String)] = []
if let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) {
    for case let url as URL in walker where ["json", "sql"].contains(url.pathExtension) {
        let relative = String(url.standardizedFileURL.path.dropFirst(root.path.count + 1))
        files.append((relative, try String(contentsOf: url, encoding: .utf8)))
    }
}
files.sort { $0.path < $1.path }
let delimiter = String(repeating: "#", count: 6)
var swift = "// Generated from Schemas/ by the EmbedSchemas build plugin. Do not edit.\n"
swift += "enum EmbeddedSchemas {\n    static let files: [(path: String, text: String)] = [\n"
for file in files {
    precondition(!file.text.contains("\"" + delimiter), "\(file.path) contains the raw-string delimiter")
    swift += "        (\"\(file.path)\", \(delimiter)\"\"\"\n\(file.text)\n\"\"\"\(delimiter)),\n"
}
swift += "    ]\n}\n"
try swift.write(to: URL(fileURLWithPath: arguments[2]), atomically: true, encoding: .utf8)
