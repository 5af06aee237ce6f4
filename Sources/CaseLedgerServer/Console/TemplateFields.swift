import Mustache

// The page models that appear many times on a page (a timeline's rows, a list's rows, a chart's
// bars, a select's options) name their fields for the templates. Without this, swift-mustache
// finds a field through `Mirror`, which decodes the type of every field for every name a template
// asks for: on a case with 500 events that was four fifths of the page's time. Each `child(named:)`
// lists exactly the stored properties; ConsoleTests checks it against `Mirror`, so a field added to
// a model and forgotten here fails a test instead of rendering as empty.

extension ConsoleCases.Event: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "seq": seq
        case "utc": utc
        case "local": local
        case "type": type
        case "summary": summary
        case "actor": actor
        case "actorLink": actorLink
        case "voided": voided
        case "voidedBy": voidedBy
        case "violations": violations
        case "notJudged": notJudged
        case "late": late
        case "recorded": recorded
        case "rowClass": rowClass
        case "caseID": caseID
        case "caseLink": caseLink
        default: nil
        }
    }
}

extension ConsoleCases.Breach: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "rule": rule
        case "rulebook": rulebook
        case "detail": detail
        default: nil
        }
    }
}

extension ConsoleCases.Row: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "caseID": caseID
        case "link": link
        case "status": status
        case "escalation": escalation
        case "region": region
        case "balance": balance
        case "lastEvent": lastEvent
        case "violations": violations
        case "flagged": flagged
        case "openComplaints": openComplaints
        default: nil
        }
    }
}

extension ConsoleComplaints.Row: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "id": id
        case "link": link
        case "caseID": caseID
        case "caseLink": caseLink
        case "category": category
        case "channel": channel
        case "filed": filed
        case "status": status
        case "age": age
        default: nil
        }
    }
}

extension ConsoleAudit.Row: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "at": at
        case "token": token
        case "role": role
        case "method": method
        case "path": path
        case "status": status
        case "cases": cases
        default: nil
        }
    }
}

extension ConsoleCompliance.Chart.Bar: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "label": label
        case "count": count
        case "y": y
        case "textY": textY
        case "labelX": labelX
        case "barX": barX
        case "barWidth": barWidth
        case "barHeight": barHeight
        case "countX": countX
        default: nil
        }
    }
}

extension Console.Option: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "value": value
        case "selected": selected
        default: nil
        }
    }
}

/// Text has no fields: inside `{{#late}}…{{/late}}` a name is looked up on the row, not by
/// reflecting on the text first.
extension Shown: MustacheParent {
    func child(named name: String) -> Any? { nil }
}
