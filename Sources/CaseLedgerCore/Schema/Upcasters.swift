/// Reads stored `data` of an older schema version as the newest version: every stored event
/// keeps its `schema_version` (and its hash), and the code that folds events only ever sees the
/// current shape. One step per version, chained.
///
/// ```swift
/// let current = Upcasters.upcast(.callPlaced, from: 1, data)   // a v1 call read as v2
/// ```
public enum Upcasters {
    /// One step: data at `version` of `type` → data at `version + 1`.
    static func step(_ type: EventType, from version: Int, _ data: JSONObject) -> JSONObject {
        switch (type, version) {
        case (.callPlaced, 1):
            // v2 adds the optional dialer_campaign: a v1 call had none, so its data is valid v2 as is.
            return data
        default:
            return data
        }
    }

    /// Data of `type` at `version`, brought up to the catalogue's newest version.
    public static func upcast(_ type: EventType, from version: Int, _ data: JSONObject,
                              catalogue: SchemaCatalogue = .shared) -> JSONObject {
        var data = data
        var version = version
        while version < catalogue.currentVersion(of: type) {
            data = step(type, from: version, data)
            version += 1
        }
        return data
    }
}
