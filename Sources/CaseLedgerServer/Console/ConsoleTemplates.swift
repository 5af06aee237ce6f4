import Mustache

/// The console's pages: Mustache templates (every `{{value}}` HTML-escaped; no template uses the
/// unescaped forms, a test checks) over the page models in `ConsolePages.swift`. XHTML-clean
/// (void elements closed), no script, no inline style: the pages work without JavaScript and
/// under `Content-Security-Policy: default-src 'self'`.
enum ConsoleTemplates {
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in all {
            do { try library.register(text, named: name) } catch { fatalError("console template \(name) does not parse: \(error)") }
        }
        return library
    }()

    static func render(_ page: Any, _ name: String) -> String {
        library.render(page, withTemplate: name) ?? "template \(name) missing"
    }

    static let all: [String: String] = [
        "head": head, "foot": foot, "signIn": signIn, "cases": cases, "case": casePage, "actor": actor, "complaints": complaints,
        "complaint": complaint, "compliance": compliance, "whatIf": whatIf, "integrity": integrity, "accessLog": accessLog,
        "error": error, "chart": chart,
    ]

    static let head = """
        <!DOCTYPE html>
        <html lang="en" xmlns="http://www.w3.org/1999/xhtml">
        <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title>{{layout.title}} · CaseLedger</title>
        <link rel="stylesheet" href="/console.css"/>
        </head>
        <body>
        <header class="top">
        <a class="brand" href="/cases">CaseLedger</a>
        {{#layout.signedIn}}
        <nav>
        <a href="/cases">Cases</a>
        <a href="/complaints">Complaints</a>
        <a href="/compliance">Compliance</a>
        {{#layout.auditor}}<a href="/integrity">Integrity</a>
        <a href="/access-log">Access log</a>{{/layout.auditor}}
        </nav>
        <form class="signout" method="post" action="/sign-out">
        <span class="who">{{layout.who}} ({{layout.role}}{{#layout.scopes}}: {{layout.scopes}}{{/layout.scopes}})</span>
        <button type="submit">Sign out</button>
        </form>
        {{/layout.signedIn}}
        </header>
        <main>
        <h1>{{layout.title}}</h1>

        """

    static let foot = """

        </main>
        <footer>CaseLedger {{layout.version}} · every page that shows a case's data is in the access log</footer>
        </body>
        </html>

        """

    static let signIn = """
        {{> head}}
        <p>Paste the token you were given. It is exchanged for a session of eight hours in this browser (a cookie that
        scripts cannot read); the token itself is not kept.</p>
        {{#problem}}<p class="problem">{{problem}}</p>{{/problem}}
        <form method="post" action="/sign-in" class="signin">
        <label for="token">Token</label>
        <input id="token" name="token" type="password" autocomplete="off" required="required"/>
        <input type="hidden" name="next" value="{{next}}"/>
        <button type="submit">Sign in</button>
        </form>
        {{> foot}}
        """

    static let cases = """
        {{> head}}
        <form method="get" action="/cases" class="filters">
        <label>Search <input name="q" value="{{query.text}}" placeholder="case id, account or debtor reference"/></label>
        <label>Status <select name="status"><option value="">any</option>{{#statuses}}<option value="{{value}}"{{#selected}} selected="selected"{{/selected}}>{{value}}</option>{{/statuses}}</select></label>
        <label>Escalation <select name="escalation"><option value="">any</option>{{#escalations}}<option value="{{value}}"{{#selected}} selected="selected"{{/selected}}>{{value}}</option>{{/escalations}}</select></label>
        <label>Region <input name="region" value="{{query.region}}" size="8"/></label>
        <label><input type="checkbox" name="violations" value="1"{{#query.violations}} checked="checked"{{/query.violations}}/> has violations</label>
        <label><input type="checkbox" name="complaints" value="1"{{#query.complaints}} checked="checked"{{/query.complaints}}/> has open complaints</label>
        <button type="submit">Find</button>
        </form>
        {{^rows}}<p class="empty">No case matches.</p>{{/rows}}
        {{#hasRows}}
        <table class="list">
        <thead><tr><th>Case</th><th>Status</th><th>Region</th><th class="num">Balance</th><th>Last event</th><th class="num">Violations</th><th class="num">Open complaints</th></tr></thead>
        <tbody>
        {{#rows}}<tr><td><a href="{{link}}">{{caseID}}</a></td><td>{{status}}{{#escalation}} → {{escalation}}{{/escalation}}</td><td>{{region}}</td><td class="num">{{balance}}</td><td>{{lastEvent}}</td><td class="num{{#flagged}} flag{{/flagged}}">{{violations}}</td><td class="num">{{openComplaints}}</td></tr>
        {{/rows}}
        </tbody>
        </table>
        {{/hasRows}}
        <p class="pages">{{#first}}<a href="{{first}}">First page</a> {{/first}}{{#next}}<a href="{{next}}" rel="next">Next page</a>{{/next}}</p>
        {{> foot}}
        """

    static let casePage = """
        {{> head}}
        <section class="header">
        <dl class="facts">
        <dt>Status</dt><dd class="status">{{header.status}}{{#header.escalation}} (escalated to {{header.escalation}}){{/header.escalation}}</dd>
        <dt>Balance</dt><dd class="balance">{{header.balance}}</dd>
        <dt>Principal + fees − paid</dt><dd>{{header.principal}} + {{header.fees}} − {{header.paid}}</dd>
        <dt>Debtor</dt><dd>{{header.debtor}}, account {{header.account}}, {{header.product}}</dd>
        <dt>Region and debtor's time zone</dt><dd>{{header.region}}, {{header.zone}}</dd>
        {{#header.plan}}<dt>Active plan</dt><dd class="plan">{{header.plan}}</dd>{{/header.plan}}
        {{#header.promise}}<dt>Latest promise</dt><dd>{{header.promise}}</dd>{{/header.promise}}
        </dl>
        {{#header.hasRestrictions}}<h2>Restrictions in force</h2><ul class="restrictions">{{#header.restrictions}}<li>{{.}}</li>{{/header.restrictions}}</ul>{{/header.hasRestrictions}}
        {{#header.hasComplaints}}<h2>Open complaints</h2><ul>{{#header.complaints}}<li><a href="{{link}}">{{id}}</a></li>{{/header.complaints}}</ul>{{/header.hasComplaints}}
        </section>
        <h2>Timeline <span class="note">(the debtor's local time; UTC on hover)</span></h2>
        <form method="get" action="{{path}}" class="filters">
        <label>Event type <select name="type"><option value="">all</option>{{#types}}<option value="{{value}}"{{#selected}} selected="selected"{{/selected}}>{{value}}</option>{{/types}}</select></label>
        <button type="submit">Show</button>
        </form>
        <table class="timeline">
        <thead><tr><th>When (debtor-local)</th><th class="num">Seq</th><th>What happened</th><th>Actor</th><th>Notes</th></tr></thead>
        <tbody>
        {{#events}}<tr class="{{rowClass}}" id="seq-{{seq}}">
        <td><time datetime="{{utc}}" title="{{utc}}">{{local}}</time></td>
        <td class="num">{{seq}}</td>
        <td>{{#voided}}<del>{{summary}}</del>{{/voided}}{{^voided}}{{summary}}{{/voided}} <span class="type">{{type}}</span></td>
        <td><a href="{{actorLink}}">{{actor}}</a></td>
        <td>{{#voidedBy}}<p class="void">VOIDED by {{voidedBy}}</p>{{/voidedBy}}{{#violations}}<p class="violation">VIOLATION {{rule}} [{{rulebook}}]{{#detail}}: {{detail}}{{/detail}}</p>{{/violations}}{{#notJudged}}<p class="notjudged">NOT JUDGED: {{notJudged}}</p>{{/notJudged}}{{#late}}<p class="late">LATE: recorded {{late}} after it occurred ({{recorded}})</p>{{/late}}</td>
        </tr>
        {{/events}}
        </tbody>
        </table>
        {{^events}}<p class="empty">No events of that type.</p>{{/events}}
        {{> foot}}
        """

    static let actor = """
        {{> head}}
        <p>Every event by {{actor}}{{#scoped}} in the cases you may see{{/scoped}}, in the order recorded.</p>
        <table class="timeline">
        <thead><tr><th>When (debtor-local)</th><th class="num">Seq</th><th>Case</th><th>What happened</th><th>Notes</th></tr></thead>
        <tbody>
        {{#events}}<tr class="{{rowClass}}">
        <td><time datetime="{{utc}}" title="{{utc}}">{{local}}</time></td><td class="num">{{seq}}</td><td><a href="{{caseLink}}">{{caseID}}</a></td>
        <td>{{#voided}}<del>{{summary}}</del>{{/voided}}{{^voided}}{{summary}}{{/voided}}</td>
        <td>{{#voidedBy}}<p class="void">VOIDED by {{voidedBy}}</p>{{/voidedBy}}{{#violations}}<p class="violation">VIOLATION {{rule}} [{{rulebook}}]{{#detail}}: {{detail}}{{/detail}}</p>{{/violations}}</td>
        </tr>
        {{/events}}
        </tbody>
        </table>
        {{^events}}<p class="empty">No events by this actor.</p>{{/events}}
        <p class="pages">{{#first}}<a href="{{first}}">First page</a> {{/first}}{{#next}}<a href="{{next}}" rel="next">Next page</a>{{/next}}</p>
        {{> foot}}
        """

    static let complaints = """
        {{> head}}
        <form method="get" action="/complaints" class="filters">
        <label>Status <select name="status"><option value="">any</option>{{#statuses}}<option value="{{value}}"{{#selected}} selected="selected"{{/selected}}>{{value}}</option>{{/statuses}}</select></label>
        <button type="submit">Show</button>
        </form>
        <table class="list">
        <thead><tr><th>Complaint</th><th>Case</th><th>Category</th><th>Channel</th><th>Filed (debtor-local)</th><th>Status</th><th class="num">Age (days)</th></tr></thead>
        <tbody>
        {{#rows}}<tr><td><a href="{{link}}">{{id}}</a></td><td><a href="{{caseLink}}">{{caseID}}</a></td><td>{{category}}</td><td>{{channel}}</td><td>{{filed}}</td><td>{{status}}</td><td class="num">{{age}}</td></tr>
        {{/rows}}
        </tbody>
        </table>
        {{^rows}}<p class="empty">No complaints.</p>{{/rows}}
        {{> foot}}
        """

    static let complaint = """
        {{> head}}
        <section class="filing">
        <dl class="facts">
        <dt>Case</dt><dd><a href="{{caseLink}}">{{caseID}}</a></dd>
        <dt>Filed</dt><dd>{{filed}} by {{filedBy}}, through {{channel}}</dd>
        <dt>Category</dt><dd>{{category}}</dd>
        <dt>Period complained of</dt><dd>{{period}}</dd>
        <dt>Status</dt><dd>{{status}}</dd>
        </dl>
        <h2>What the debtor said</h2>
        <blockquote class="user-text">{{description}}</blockquote>
        </section>
        <section class="asof">
        <h2>The case</h2>
        <table class="list"><thead><tr><th></th><th>Status</th><th class="num">Balance</th></tr></thead>
        <tbody><tr><td>When the complaint was filed</td><td>{{asOf.status}}</td><td class="num">{{asOf.balance}}</td></tr>
        <tr><td>Now</td><td>{{now.status}}</td><td class="num">{{now.balance}}</td></tr></tbody></table>
        </section>
        <h2>Violations {{periodNote}}</h2>
        {{^violations}}<p class="empty">None.</p>{{/violations}}
        <ul class="violations">{{#violations}}<li><a href="{{link}}">{{local}}</a> {{actor}}: <strong>{{rule}}</strong> [{{rulebook}}] {{detail}}</li>{{/violations}}</ul>
        <h2>Evidence pack</h2>
        <ul class="downloads">
        <li><a href="{{packJSON}}" download="evidence-{{id}}.json">evidence.json</a> (every event of the case with its hash, the contacts judged, the rulebooks and their sources, the chain check)</li>
        <li><a href="{{packHTML}}">The printable page</a></li>
        {{#proof}}<li><a href="{{proofJSON}}" download="evidence-{{id}}-proven.json">evidence.json with inclusion proofs</a> against the newest checkpoint (tree size {{treeSize}})</li>{{/proof}}
        </ul>
        {{> foot}}
        """

    static let chart = """
        <figure class="chart">
        <figcaption>{{title}}</figcaption>
        {{^bars}}<p class="empty">No violations.</p>{{/bars}}
        {{#hasBars}}<svg xmlns="http://www.w3.org/2000/svg" width="{{width}}" height="{{height}}" viewBox="0 0 {{width}} {{height}}" role="img" aria-label="{{title}}">
        {{#bars}}<text x="{{labelX}}" y="{{textY}}" class="label" text-anchor="end">{{label}}</text><rect x="{{barX}}" y="{{y}}" width="{{barWidth}}" height="{{barHeight}}" class="bar"/><text x="{{countX}}" y="{{textY}}" class="count">{{count}}</text>
        {{/bars}}</svg>{{/hasBars}}
        </figure>
        """

    static let compliance = """
        {{> head}}
        <p class="summary">{{contactsJudged}} of {{contacts}} outbound contacts judged ({{judgedShare}}); {{contactsNotJudged}} not judged.
        {{casesWithViolations}} of {{cases}} cases have violations.</p>
        <div class="charts">
        {{#charts}}{{> chart}}{{/charts}}
        </div>
        <h2>Rule change: what if?</h2>
        {{#canAskWhatIf}}
        <form method="post" action="/compliance/what-if" class="whatif">
        <label>Before <select name="before">{{#rulebooks}}<option value="{{id}}">{{id}}</option>{{/rulebooks}}</select></label>
        <label>After <select name="after"><option value="">(the rulebook pasted below)</option>{{#rulebooks}}<option value="{{id}}">{{id}}</option>{{/rulebooks}}</select></label>
        <label class="wide">Or paste an edited rulebook (JSON) as "after"
        <textarea name="rulebook" rows="6" cols="80"></textarea></label>
        <label>From <input name="from" placeholder="2024-01-01"/></label>
        <label>To <input name="to" placeholder="2024-12-31"/></label>
        <label>Region <input name="region" size="8"/></label>
        <button type="submit">Compare</button>
        </form>
        {{/canAskWhatIf}}
        {{^canAskWhatIf}}<p class="note">What-if comparisons read every case; they are for readers and auditors.</p>{{/canAskWhatIf}}
        <h2>Rulebooks in force</h2>
        <table class="list rulebooks">
        <thead><tr><th>Rulebook</th><th>Jurisdiction</th><th>From</th><th>Source</th></tr></thead>
        <tbody>{{#rulebooks}}<tr><td><strong>{{id}}</strong><br/>{{title}}</td><td>{{jurisdiction}}</td><td>{{effectiveFrom}}</td><td class="source">{{source}}</td></tr>
        {{/rulebooks}}</tbody>
        </table>
        {{> foot}}
        """

    static let whatIf = """
        {{> head}}
        {{#problem}}<p class="problem">{{problem}}</p>{{/problem}}
        {{#report}}
        <p class="summary">{{before}} → {{after}}: <strong>{{beforeCount}} → {{afterCount}}</strong> violations over {{cases}} cases;
        {{appearedCount}} appear, {{disappearedCount}} disappear.</p>
        <div class="charts">{{#charts}}{{> chart}}{{/charts}}</div>
        <h2>Appear</h2>
        <ul class="violations">{{#appeared}}<li><a href="{{link}}">{{caseID}}</a> {{local}} {{actor}}: <strong>{{rule}}</strong> {{detail}}</li>{{/appeared}}</ul>
        {{^appeared}}<p class="empty">None.</p>{{/appeared}}
        <h2>Disappear</h2>
        <ul class="violations">{{#disappeared}}<li><a href="{{link}}">{{caseID}}</a> {{local}} {{actor}}: <strong>{{rule}}</strong> {{detail}}</li>{{/disappeared}}</ul>
        {{^disappeared}}<p class="empty">None.</p>{{/disappeared}}
        {{#truncated}}<p class="note">The first {{shown}} of each list are shown; `caseledger compliance diff --json` gives all.</p>{{/truncated}}
        {{/report}}
        <p><a href="/compliance">Back to compliance</a></p>
        {{> foot}}
        """

    static let integrity = """
        {{> head}}
        <section>
        <h2>Chain, Merkle tree and projections</h2>
        {{#last}}<p class="{{outcomeClass}}">{{outcome}} — checked {{at}} (took {{took}}).</p>{{/last}}
        {{^last}}<p>Not checked since the server started.</p>{{/last}}
        <form method="post" action="/integrity/verify"><button type="submit">Verify now</button></form>
        <p class="note">Recomputes every event's hash, the Merkle tree and every projection from the log, as <code>caseledger verify</code> does.</p>
        </section>
        <h2>Checkpoints held</h2>
        <table class="list">
        <thead><tr><th class="num">#</th><th>Origin</th><th class="num">Tree size</th><th>Root</th><th>Signed by</th><th>Witness cosignatures</th><th>Stored</th></tr></thead>
        <tbody>{{#checkpoints}}<tr><td class="num">{{id}}</td><td>{{origin}}</td><td class="num">{{size}}</td><td class="hash">{{root}}</td><td>{{signers}}</td><td>{{cosigners}}</td><td>{{stored}}</td></tr>
        {{/checkpoints}}</tbody>
        </table>
        {{^checkpoints}}<p class="empty">No checkpoint has been signed yet.</p>{{/checkpoints}}
        {{> foot}}
        """

    static let accessLog = """
        {{> head}}
        <form method="get" action="/access-log" class="filters">
        <label>Token <input name="token" value="{{token}}"/></label>
        <label>Case <input name="case" value="{{caseID}}"/></label>
        <label>Since <input name="since" value="{{since}}" placeholder="2026-12-01T00:00:00Z"/></label>
        <button type="submit">Filter</button>
        </form>
        {{#problem}}<p class="problem">{{problem}}</p>{{/problem}}
        <table class="list">
        <thead><tr><th>When (UTC)</th><th>Token</th><th>Role</th><th>Request</th><th class="num">Status</th><th>Cases</th></tr></thead>
        <tbody>{{#rows}}<tr><td>{{at}}</td><td>{{token}}</td><td>{{role}}</td><td>{{method}} {{path}}</td><td class="num">{{status}}</td><td>{{cases}}</td></tr>
        {{/rows}}</tbody>
        </table>
        {{^rows}}<p class="empty">No entries.</p>{{/rows}}
        {{> foot}}
        """

    static let error = """
        {{> head}}
        <p class="problem">{{message}}</p>
        <p><a href="/cases">Back to the cases</a></p>
        {{> foot}}
        """

    /// The stylesheet, served at /console.css.
    static let css = """
        * { box-sizing: border-box; }
        body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #111; background: #fff; }
        header.top { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; border-bottom: 2px solid #111; flex-wrap: wrap; }
        header.top .brand { font-weight: 700; color: #111; text-decoration: none; }
        header.top nav { display: flex; gap: 1rem; }
        header.top .signout { margin-left: auto; display: flex; gap: .6rem; align-items: center; }
        main { padding: 1rem 1.2rem 2rem; max-width: 84rem; }
        h1 { font-size: 1.45rem; margin: .2rem 0 1rem; }
        h2 { font-size: 1.1rem; margin: 1.4rem 0 .5rem; }
        a { color: #0b4f9c; }
        table { border-collapse: collapse; width: 100%; }
        th, td { text-align: left; vertical-align: top; padding: .3rem .5rem; border-bottom: 1px solid #ccc; }
        th { border-bottom: 2px solid #333; font-weight: 600; }
        .num { text-align: right; font-variant-numeric: tabular-nums; }
        .flag { font-weight: 700; }
        .filters, .whatif, .signin { display: flex; flex-wrap: wrap; gap: .6rem 1rem; align-items: flex-end; margin-bottom: 1rem; }
        .whatif .wide { flex-basis: 100%; }
        .whatif textarea { width: 100%; font-family: ui-monospace, monospace; }
        label { display: flex; flex-direction: column; gap: .15rem; font-size: .9rem; }
        label:has(input[type=checkbox]) { flex-direction: row; align-items: center; gap: .3rem; }
        button { font: inherit; padding: .25rem .8rem; border: 1px solid #333; background: #f2f2f2; cursor: pointer; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0; }
        dl.facts dt { font-weight: 600; }
        dl.facts dd { margin: 0; }
        .balance { font-weight: 700; }
        tr.voided td { color: #555; }
        del { text-decoration: line-through; text-decoration-thickness: 2px; }
        .void, .violation, .notjudged, .late { margin: 0 0 .2rem; font-size: .88rem; }
        .violation { font-weight: 700; border-left: 4px solid #111; padding-left: .4rem; }
        .notjudged { font-style: italic; }
        .late { border-left: 4px dotted #111; padding-left: .4rem; }
        .type { color: #555; font-size: .8rem; }
        .note { color: #444; font-size: .9rem; }
        .problem { border: 2px solid #111; padding: .5rem .8rem; font-weight: 600; }
        .ok { border-left: 6px solid #111; padding-left: .6rem; }
        .failed { border: 3px double #111; padding: .5rem; font-weight: 700; }
        .empty { color: #555; font-style: italic; }
        .user-text { unicode-bidi: isolate; white-space: pre-wrap; border-left: 3px solid #999; margin: 0; padding: .3rem .8rem; }
        td, dd, li { unicode-bidi: isolate; }
        .hash, .source { font-size: .8rem; word-break: break-all; }
        .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(26rem, 1fr)); gap: 1rem 2rem; }
        figure.chart { margin: 0; }
        figure.chart figcaption { font-weight: 600; margin-bottom: .3rem; }
        svg .bar { fill: #3a3a3a; }
        svg text { font: 12px system-ui, sans-serif; fill: #111; }
        footer { padding: 1rem 1.2rem; color: #555; font-size: .8rem; border-top: 1px solid #ccc; }
        @media print {
          @page { size: A4; margin: 15mm; }
          body { font-size: 10.5pt; }
          header.top nav, header.top .signout, form, footer { display: none; }
          main { max-width: none; padding: 0; }
          a { color: #111; text-decoration: none; }
          tr { page-break-inside: avoid; }
          .charts { display: block; }
        }
        """
}
