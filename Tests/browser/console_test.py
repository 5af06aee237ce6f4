#!/usr/bin/env python3
"""Browser tests of the investigator's console, in a real headless Chromium driven by Selenium.

What it covers, each test a browser session of its own (window 1280×800):

* signing in by pasting a token into the form (the session cookie is HttpOnly, SameSite=Strict),
  landing on the cases page; signing out, after which a protected page sends you to sign in;
* finding a case by its account reference and reading its page: the 22:30 call flagged with
  its rule and rulebooks, a voided payment struck through (<del>, "VOIDED by" who and why), and
  the balance equal to principal − the payment that counts;
* a complaint: its evidence pack downloaded (evidence.json, read back as JSON) and its
  printable page;
* a what-if comparison of two rulebooks on /compliance, the report's before → after counts;
* a regulator scoped to region:US: the Shanghai case is absent from search, 404 at its URL,
  and absent from the compliance charts;
* hostile text (script tags, an onerror image, a javascript: link, entities, quotes, control
  characters, a right-to-left override) in a complaint and a note: shown as text, never run,
  and no <script> element anywhere;
* every page visited (sign-in, cases, case, actor, complaints, complaint, compliance, what-if,
  integrity, access log, the printable evidence page): a 1280×800 screenshot in the artifacts
  folder that is not blank, the stylesheet applied, the Content-Security-Policy sent, no error
  in the browser's console, the source well-formed XHTML (xml.etree) with balanced tags
  (html.parser), and every internal link answering 200 with the session, a `#fragment` pointing
  at an id on its target page.

It builds its own ledger in a temporary folder (`caseledger init`, then a small crafted
portfolio through `caseledger append`), creates the tokens, starts `caseledger serve --port 0`
on loopback and stops it at the end, whatever happens.

Needs Debian's `chromium` and `chromium-driver` and Python's `selenium` (CI installs it into
.build-tools/venv and puts that first on PATH). Run it:

    python3 Tests/browser/console_test.py --binary .build/debug/caseledger \\
        --artifacts .build/console-screenshots

Exit status 0 when every test passes; unittest's report on stderr. Extra arguments after `--`
go to unittest (e.g. `-- -v ConsoleTests.test_xss_corpus_is_shown_as_text_and_never_runs`).
"""

import argparse
import contextlib
import functools
import html.parser
import http.cookiejar
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
import zlib

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

WIDTH, HEIGHT = 1280, 800

# Set by main(): the binary, the artifacts folder, and (in setUpModule) the ledger and server.
BINARY = None
ARTIFACTS = None
LEDGER = None
SERVER = None

# --- The portfolio ------------------------------------------------------------------------------

US_CASE = "C-US-NY-7001"
US_ACCOUNT = "ACCT-NY-4417-8832"
US_PRINCIPAL = 1_250_000           # 12,500.00 USD
VOIDED_PAYMENT = 40_000            # 400.00 USD, voided: does not count
COUNTED_PAYMENT = 123_456          # 1,234.56 USD
US_COMPLAINT = "CMP-NY-0042"
US_CALLER = "agency:nyc-recovery"  # an agency: Regulation F binds agencies only
NOTE_ACTOR = "collector:o.brien+corpus@ny-team"  # every character an actor id may have
VOIDER = "supervisor:m.okafor"
VOID_REASON = "duplicate of PAY-NY-2: the bank feed sent it twice"

CN_CASE = "C-CN-SH-8001"
CN_ACCOUNT = "ACCT-SH-5590-1207"
CN_COMPLAINT = "CMP-SH-0007"

# Hostile text: markup that would run if it were not escaped, entities that must stay literal,
# quotes, control characters and a right-to-left override (the console shows those as ⟨U+…⟩).
XSS_SCRIPT = "<script>window.__pwned=1</script>"
XSS_IMG = '<img src=x onerror="window.__pwned=2">'
XSS_LINK = '<a href="javascript:window.__pwned=3">click me</a> javascript:window.__pwned=4'
XSS_CORPUS = (
    f"They called at 22:30. {XSS_SCRIPT} {XSS_IMG} {XSS_LINK} </textarea></blockquote></td>"
    " &amp; &lt;b&gt; \"double\" 'single' `back` bell\u0007 esc\u001b[31m del\u007f nel\u0085"
    " rlo\u202etxt.exe pdi\u2069 end"
)
XSS_NOTE = f"Note: {XSS_SCRIPT} {XSS_IMG} &lt;i&gt; \u202eevil\u202c \u0007 ]]> <![CDATA[x]]>"


def iso_event(case_id, type_, occurred_at, actor, data, event_id=None):
    return {"event_id": event_id or str(uuid.uuid4()), "case_id": case_id, "type": type_,
            "occurred_at": occurred_at, "actor": actor, "data": data}


def portfolio():
    """The crafted events: a New York case and a Shanghai case."""
    voided_id = str(uuid.uuid4())
    us = [
        iso_event(US_CASE, "case.opened", "2024-03-01T09:00:00-05:00", "system:intake", {
            "debtor_ref": "DEBTOR-NY-311", "account_ref": US_ACCOUNT, "product": "credit_card", "currency": "USD",
            "principal_minor": US_PRINCIPAL, "due_date": "2024-01-31", "debtor_timezone": "America/New_York",
            "region": "US-NY"}),
        # In hours under every rulebook: not flagged.
        iso_event(US_CASE, "call.placed", "2024-03-04T10:15:00-05:00", US_CALLER,
                  {"direction": "outbound", "party": "debtor", "outcome": "no_answer", "duration_s": 0}),
        # 22:30 New York time: after demo-bank-policy-2024 (until 20:00) and Regulation F (until 21:00).
        iso_event(US_CASE, "call.placed", "2024-03-05T22:30:00-05:00", US_CALLER,
                  {"direction": "outbound", "party": "debtor", "outcome": "no_answer", "duration_s": 0}),
        iso_event(US_CASE, "payment.received", "2024-03-06T10:00:00-05:00", "system:payments",
                  {"amount_minor": VOIDED_PAYMENT, "currency": "USD", "channel": "bank_transfer", "reference": "PAY-NY-1"},
                  event_id=voided_id),
        iso_event(US_CASE, "entry.voided", "2024-03-06T11:00:00-05:00", VOIDER, {"voids": voided_id, "reason": VOID_REASON}),
        iso_event(US_CASE, "payment.received", "2024-03-07T10:00:00-05:00", "system:payments",
                  {"amount_minor": COUNTED_PAYMENT, "currency": "USD", "channel": "card", "reference": "PAY-NY-2"}),
        iso_event(US_CASE, "note.recorded", "2024-03-07T12:00:00-05:00", NOTE_ACTOR, {"text": XSS_NOTE}),
        iso_event(US_CASE, "complaint.filed", "2024-03-08T09:30:00-05:00", "debtor:DEBTOR-NY-311", {
            "complaint_id": US_COMPLAINT, "channel": "letter", "category": "contact_time", "description": XSS_CORPUS,
            "period_from": "2024-03-01", "period_to": "2024-03-31"}),
    ]
    cn = [
        iso_event(CN_CASE, "case.opened", "2024-03-01T09:00:00+08:00", "system:intake", {
            "debtor_ref": "DEBTOR-SH-77", "account_ref": CN_ACCOUNT, "product": "personal_loan", "currency": "CNY",
            "principal_minor": 880_000, "due_date": "2024-02-01", "debtor_timezone": "Asia/Shanghai", "region": "CN-SH"}),
        # 22:45 Shanghai time: after demo-bank-policy-2024's hours.
        iso_event(CN_CASE, "call.placed", "2024-03-05T22:45:00+08:00", "collector:zhang.wei",
                  {"direction": "outbound", "party": "debtor", "outcome": "no_answer", "duration_s": 0}),
        iso_event(CN_CASE, "complaint.filed", "2024-03-06T10:00:00+08:00", "debtor:DEBTOR-SH-77", {
            "complaint_id": CN_COMPLAINT, "channel": "phone", "category": "contact_time", "description": "Called late at night."}),
    ]
    return us + cn


def money(minor, currency):
    """As the console shows money: thousands grouped, two decimals, the currency after."""
    return f"{minor // 100:,}.{minor % 100:02d} {currency}"


# What the 22:30 call breaks (rule, rulebook), and the what-if from demo-bank-policy-2024 (applied
# to every case) to us-reg-f-2021 (agencies only): the two late calls, then only the agency's.
LATE_CALL_BREACHES = [("contact_hours", "demo-bank-policy-2024"), ("contact_hours", "us-reg-f-2021")]
WHAT_IF = ("demo-bank-policy-2024", "us-reg-f-2021", 2, 1)


# --- The ledger and the server -------------------------------------------------------------------

class Ledger:
    """A temporary ledger with the portfolio and one token per role used here."""

    def __init__(self, binary):
        self.binary = binary
        self.folder = tempfile.mkdtemp(prefix="caseledger-console-")
        self.db = os.path.join(self.folder, "ledger.sqlite")
        self.run("init", "--db", self.db)
        self.run("append", "--db", self.db, stdin="".join(json.dumps(e) + "\n" for e in portfolio()))
        self.tokens = {
            "auditor": self.token("auditor", "aud.ines"),
            "reader": self.token("reader", "reader.rui"),
            "regulator": self.token("regulator", "reg.us-cfpb", "--scope", "region:US"),
        }

    def run(self, *arguments, stdin=""):
        env = {k: v for k, v in os.environ.items() if k not in ("CASELEDGER_DB", "CASELEDGER_CLOCK")}
        result = subprocess.run([self.binary, *arguments], input=stdin, capture_output=True, text=True, timeout=120, env=env)
        if result.returncode != 0:
            raise RuntimeError(f"caseledger {' '.join(arguments)} exited {result.returncode}:\n{result.stderr}")
        return result.stdout

    def token(self, role, name, *extra):
        return self.run("token", "create", "--db", self.db, "--role", role, "--name", name, *extra).strip().splitlines()[-1].strip()

    def remove(self):
        shutil.rmtree(self.folder, ignore_errors=True)


class Server:
    """`caseledger serve --port 0` on loopback; its first stdout line gives the address."""

    def __init__(self, binary, db, folder):
        self.log_path = os.path.join(folder, "serve.log")
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen([binary, "serve", "--db", db, "--host", "127.0.0.1", "--port", "0"],
                                        stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL)
        line = self.process.stdout.readline().decode()
        match = re.search(r"serving .* on (http://127\.0\.0\.1:\d+)", line)
        if not match:
            self.stop()
            raise RuntimeError(f"the server did not announce its address: {line!r}; log:\n{self.stderr()}")
        self.base = match.group(1)

    def stderr(self):
        self.log.flush()
        with open(self.log_path, "rb") as log:
            return log.read().decode(errors="replace")[-4000:]

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        self.log.close()


def setUpModule():
    global LEDGER, SERVER
    LEDGER = Ledger(BINARY)
    try:
        SERVER = Server(BINARY, LEDGER.db, LEDGER.folder)
    except BaseException:
        LEDGER.remove()
        raise


def tearDownModule():
    if SERVER:
        SERVER.stop()
    if LEDGER:
        LEDGER.remove()


# --- HTTP with a browser's session ---------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def fetch(url, cookie=None, data=None):
    """(status, headers, body bytes) without following redirects; `cookie` is the session id."""
    request = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode() if data is not None else None)
    if cookie:
        request.add_header("Cookie", f"caseledger_session={cookie}")
    try:
        with _opener.open(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


# --- Page checks ---------------------------------------------------------------------------------

VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class PageParser(html.parser.HTMLParser):
    """Collects links, ids, form actions and scripts; notes tags that do not balance."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links, self.ids, self.get_forms, self.scripts, self.problems = [], set(), [], 0, []
        self.stack = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href") is not None:
            self.links.append(attributes["href"])
        if tag == "form" and (attributes.get("method") or "get").lower() == "get":
            self.get_forms.append(attributes.get("action") or "")
        if "id" in attributes:
            self.ids.add(attributes["id"])
        if tag == "script":
            self.scripts += 1
        if tag not in VOID_ELEMENTS:
            self.stack.append((tag, self.getpos()))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID_ELEMENTS:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID_ELEMENTS:
            self.problems.append(f"</{tag}> at {self.getpos()}")
        elif not self.stack or self.stack[-1][0] != tag:
            self.problems.append(f"</{tag}> at {self.getpos()} closes {self.stack[-1] if self.stack else 'nothing'}")
        else:
            self.stack.pop()

    def close(self):
        super().close()
        self.problems += [f"<{tag}> at {pos} never closed" for tag, pos in self.stack]


def parse_page(body):
    parser = PageParser()
    parser.feed(body)
    parser.close()
    return parser


def png_pixels(data):
    """(width, height, rows of pixel tuples) of an 8-bit RGB or RGBA, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, chunks, header = 8, [], None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, f"unexpected PNG format {header}"
    channels = 4 if colour == 6 else 3
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, channels, rows


def ink_share(data):
    """(width, height, share of pixels that differ from the most common colour)."""
    width, height, channels, rows = png_pixels(data)
    counts = {}
    for row in rows:
        for x in range(0, len(row), channels * 2):  # every other pixel is plenty
            pixel = row[x:x + 3]
            counts[pixel] = counts.get(pixel, 0) + 1
    total = sum(counts.values())
    return width, height, 1 - max(counts.values()) / total, len(counts)


# --- The tests -----------------------------------------------------------------------------------

def short(error):
    """An exception in one line: its class and the first line of its message, without the
    chromedriver stack trace Selenium appends to the message."""
    message = ((error.msg if isinstance(error, WebDriverException) else None) or str(error)).strip()
    return f"{type(error).__name__}: {message.splitlines()[0][:300] if message else ''}"


def once_more_if_the_browser_fails(cls):
    """Runs each test of `cls` again, once, in a new browser, when the browser or its driver
    raised (a renderer that timed out, a session that would not start, a page load past its
    timeout).

    Headless Chromium on a busy two-core machine sometimes does. An assertion that fails is
    never retried, and the second run's error, if any, is the test's. The retry is printed, so
    a browser that fails often shows in the log.
    """
    def retried(method):
        @functools.wraps(method)
        def run(self):
            try:
                return method(self)
            except WebDriverException as error:
                print(f"\nconsole_test: {method.__name__}: the browser failed ({short(error)}); "
                      "once more in a new browser", file=sys.stderr)
                self.doCleanups()
                self.setUp()
                return method(self)
        return run

    for name, method in list(vars(cls).items()):
        if name.startswith("test_") and callable(method):
            setattr(cls, name, retried(method))
    return cls


@once_more_if_the_browser_fails
class ConsoleTests(unittest.TestCase):
    def setUp(self):
        self.base = SERVER.base
        self.downloads = tempfile.mkdtemp(prefix="downloads-", dir=LEDGER.folder)
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for argument in ("--headless=new", f"--window-size={WIDTH},{HEIGHT}", "--no-sandbox", "--disable-dev-shm-usage",
                         "--disable-gpu", "--hide-scrollbars", "--force-device-scale-factor=1", "--lang=en-US",
                         "--no-first-run", "--disable-extensions", "--disable-background-networking"):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        options.add_experimental_option("prefs", {"download.default_directory": self.downloads,
                                                  "download.prompt_for_download": False})
        for attempt in (1, 2):
            service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
            try:
                self.driver = webdriver.Chrome(options=options, service=service)
                break
            except WebDriverException as error:
                if attempt == 2:
                    raise
                print(f"\nconsole_test: {self._testMethodName}: the browser did not start ({short(error)}); "
                      "once more", file=sys.stderr)
        self.addCleanup(self.driver.quit)
        # The viewport, not the window, is 1280×800: screenshots are exactly that.
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False})
        self.driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": self.downloads})
        self.driver.set_page_load_timeout(30)
        self.checked_links = {}

    # -- helpers --

    def url(self, path):
        return self.base + path

    def path(self):
        parts = urllib.parse.urlsplit(self.driver.current_url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def session(self):
        cookie = self.driver.get_cookie("caseledger_session")
        return cookie["value"] if cookie else None

    def sign_in(self, role):
        """Signs in as a person does: the sign-in page, the token pasted, the button."""
        self.driver.get(self.url("/sign-in"))
        self.check_page("sign-in")
        self.driver.find_element(By.ID, "token").send_keys(LEDGER.tokens[role])
        with self.navigation_to("/cases"):
            self.driver.find_element(By.CSS_SELECTOR, "form.signin button[type=submit]").click()
        self.assertIsNotNone(self.session(), "no session cookie after signing in")

    def open_session(self, role):
        """A session for `role` without the sign-in form (its own test covers the form): the
        sign-in posted from here, the cookie it sets handed to the browser, then /cases."""
        status, headers, _ = fetch(self.url("/sign-in"), data={"token": LEDGER.tokens[role], "next": "/cases"})
        self.assertEqual(status, 303, "POST /sign-in")
        value = re.match(r"caseledger_session=([0-9a-f]+);", headers["Set-Cookie"]).group(1)
        self.driver.get(self.url("/console.css"))  # a page of this origin, to set the cookie on
        self.driver.add_cookie({"name": "caseledger_session", "value": value, "path": "/", "httpOnly": True, "sameSite": "Strict"})
        self.driver.get(self.url("/cases"))
        self.wait_for_path("/cases")

    def wait_for_path(self, prefix):
        """Waits until the browser is at `prefix` and that page has finished loading."""
        try:
            WebDriverWait(self.driver, 15).until(
                lambda d: self.path().startswith(prefix) and d.execute_script("return document.readyState") == "complete")
        except TimeoutException:
            self.fail(f"expected to reach {prefix}, still at {self.path()}: {self.driver.title}")

    @contextlib.contextmanager
    def navigation_to(self, prefix):
        """Around a click or a submit: waits for the page it was on to go, then for `prefix` to load.

        Waiting for the path alone is not enough: the URL changes when the next page commits, before
        it is parsed, and a page can answer under the path it was posted from (a refused sign-in, the
        integrity check). Reading too early finds the old page's elements gone (stale) or the new
        page's not there yet.
        """
        old = self.driver.find_element(By.TAG_NAME, "html")
        yield
        try:
            WebDriverWait(self.driver, 15).until(expected_conditions.staleness_of(old))
        except TimeoutException:
            self.fail(f"the page did not change on the way to {prefix}; still at {self.path()}")
        self.wait_for_path(prefix)

    def click_link(self, text):
        self.driver.find_element(By.LINK_TEXT, text).click()

    def text(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css).text

    def check_page(self, name, source=None):
        """The checks every page gets: screenshot, style, CSP, console, XHTML, links, no script.

        `source` is the page's bytes when a GET would not give them (a POST's answer); by
        default the page is fetched again with the browser's session cookie.
        """
        driver, cookie = self.driver, self.session()
        label = f"{self._testMethodName.removeprefix('test_')}--{name}"

        # Screenshot: 1280×800 and not blank.
        shot = driver.get_screenshot_as_png()
        with open(os.path.join(ARTIFACTS, label + ".png"), "wb") as file:
            file.write(shot)
        width, height, ink, colours = ink_share(shot)
        self.assertEqual((width, height), (WIDTH, HEIGHT), f"{name}: screenshot size")
        self.assertGreater(colours, 8, f"{name}: the screenshot is nearly one colour ({label}.png)")
        self.assertGreater(ink, 0.01, f"{name}: the screenshot is nearly blank ({label}.png)")

        # Styled (the stylesheet loaded under the CSP), nothing run, nothing complained of.
        self.assertEqual(driver.execute_script("return document.scripts.length"), 0, f"{name}: a <script> element")
        self.assertEqual(driver.execute_script("return typeof window.__pwned"), "undefined", f"{name}: hostile text ran")
        errors = [entry["message"] for entry in driver.get_log("browser")
                  if entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"]]
        self.assertEqual(errors, [], f"{name}: errors in the browser's console")

        # The source as served: headers, well-formed XHTML, balanced tags.
        status, headers, body = fetch(driver.current_url, cookie) if source is None else (200, None, source)
        self.assertEqual(status, 200, f"{name}: {driver.current_url} answered {status} when fetched again")
        if headers is not None:
            self.assertIn("default-src 'self'", headers.get("Content-Security-Policy", ""), f"{name}: no CSP")
            self.assertTrue(headers.get("Content-Type", "").startswith("text/html"), f"{name}: {headers.get('Content-Type')}")
        text = body.decode("utf-8")
        self.assertTrue(text.startswith("<!DOCTYPE html>"), f"{name}: no doctype")
        try:
            root = ET.fromstring(text.split("\n", 1)[1])
        except ET.ParseError as error:
            line = text.split("\n", 1)[1].splitlines()[error.position[0] - 1] if error.position[0] else ""
            self.fail(f"{name}: not well-formed XHTML: {error}\n  {line[:300]!r}")
        self.assertEqual(root.tag, "{http://www.w3.org/1999/xhtml}html", f"{name}: root element")
        parsed = parse_page(text)
        self.assertEqual(parsed.problems, [], f"{name}: tags that do not balance")
        self.assertEqual(parsed.scripts, 0, f"{name}: a <script> in the source")

        # Every internal link, and every GET form's action, answers 200; #fragments exist.
        here = urllib.parse.urlsplit(driver.current_url).path
        for href in sorted(set(parsed.links + parsed.get_forms)):
            if href.startswith("#"):
                self.assertIn(href[1:], parsed.ids, f"{name}: {href} points at no id on the page")
                continue
            if not href.startswith("/"):
                continue
            target, _, fragment = href.partition("#")
            status, ids = self.check_link(target or here, cookie)
            if cookie is None and status == 303:
                continue  # signed out: every page but this one sends you to sign in
            self.assertEqual(status, 200, f"{name}: the link {href} answered {status}")
            if fragment:
                self.assertIn(fragment, ids, f"{name}: {href} points at no id on its page")
        return parsed

    def check_link(self, target, cookie):
        """(status, ids on the page) of a GET of `target` with the session `cookie`, once per test."""
        if (target, cookie) not in self.checked_links:
            status, headers, body = fetch(self.url(target), cookie)
            ids = set()
            if status == 200 and headers.get("Content-Type", "").startswith("text/html"):
                ids = parse_page(body.decode("utf-8")).ids
            self.checked_links[(target, cookie)] = (status, ids)
        return self.checked_links[(target, cookie)]

    # -- tests --

    def test_sign_in_with_a_pasted_token_lands_on_the_cases(self):
        self.driver.get(self.url("/"))
        self.wait_for_path("/sign-in")
        # A wrong token: refused on the page, no session.
        self.driver.find_element(By.ID, "token").send_keys("not-a-token")
        with self.navigation_to("/sign-in"):
            self.driver.find_element(By.CSS_SELECTOR, "form.signin button[type=submit]").click()
        self.assertIn("not one this ledger knows", self.text("p.problem"))
        self.assertIsNone(self.session())
        self.assertTrue(any("401" in entry["message"] for entry in self.driver.get_log("browser")),
                        "the refused sign-in is answered 401")

        self.sign_in("reader")
        self.assertEqual(self.driver.title, "Cases · CaseLedger")
        cookie = self.driver.get_cookie("caseledger_session")
        self.assertTrue(cookie["httpOnly"], cookie)
        self.assertEqual(cookie.get("sameSite"), "Strict", cookie)
        self.assertIn("reader.rui (reader)", self.text("header.top .who"))
        ids = [a.text for a in self.driver.find_elements(By.CSS_SELECTOR, "table.list tbody td:first-child a")]
        self.assertEqual(sorted(ids), sorted([US_CASE, CN_CASE]))
        self.check_page("cases")

    def test_signing_in_from_a_protected_page_goes_back_to_it(self):
        self.driver.get(self.url(f"/cases/{US_CASE}?type=call.placed"))
        self.wait_for_path("/sign-in?next=")
        self.driver.find_element(By.ID, "token").send_keys(LEDGER.tokens["auditor"])
        with self.navigation_to(f"/cases/{US_CASE}?type=call.placed"):
            self.driver.find_element(By.CSS_SELECTOR, "form.signin button[type=submit]").click()
        self.assertEqual(self.driver.title, f"Case {US_CASE} · CaseLedger")
        self.assertEqual(len(self.driver.find_elements(By.CSS_SELECTOR, "table.timeline tbody tr")), 2)

    def test_case_page_flags_the_late_call_strikes_the_voided_payment_and_shows_the_balance(self):
        self.open_session("reader")
        search = self.driver.find_element(By.NAME, "q")
        search.send_keys(US_ACCOUNT)
        with self.navigation_to("/cases?q="):
            search.submit()
        rows = self.driver.find_elements(By.CSS_SELECTOR, "table.list tbody tr")
        self.assertEqual([row.find_element(By.TAG_NAME, "a").text for row in rows], [US_CASE])
        self.assertIn(money(US_PRINCIPAL - COUNTED_PAYMENT, "USD"), rows[0].text)
        self.check_page("cases-search")

        with self.navigation_to(f"/cases/{US_CASE}"):
            self.click_link(US_CASE)
        self.assertEqual(self.driver.title, f"Case {US_CASE} · CaseLedger")
        self.assertEqual(self.text("dd.balance"), money(US_PRINCIPAL - COUNTED_PAYMENT, "USD"))

        timeline = self.driver.find_elements(By.CSS_SELECTOR, "table.timeline tbody tr")
        late = [row for row in timeline if "22:30" in row.find_element(By.TAG_NAME, "time").text]
        self.assertEqual(len(late), 1, [row.text for row in timeline])
        self.assertIn("violated", late[0].get_attribute("class"))
        flags = sorted(p.text for p in late[0].find_elements(By.CSS_SELECTOR, "p.violation"))
        for rule, rulebook in LATE_CALL_BREACHES:
            self.assertTrue(any(flag.startswith(f"VIOLATION {rule} [{rulebook}]") for flag in flags), flags)
        self.assertEqual(len(flags), len(LATE_CALL_BREACHES), flags)
        in_hours = [row for row in timeline if "10:15" in row.find_element(By.TAG_NAME, "time").text]
        self.assertEqual(len(in_hours), 1)
        self.assertEqual(in_hours[0].find_elements(By.CSS_SELECTOR, "p.violation"), [], "the 10:15 call is in hours")

        voided = [row for row in timeline if "voided" in row.get_attribute("class").split()]
        self.assertEqual(len(voided), 1, [row.text for row in timeline])
        struck = voided[0].find_elements(By.TAG_NAME, "del")
        self.assertEqual(len(struck), 1)
        self.assertIn("400.00", struck[0].text)
        self.assertEqual(self.driver.execute_script(
            "return getComputedStyle(arguments[0]).textDecorationLine", struck[0]), "line-through")
        mark = voided[0].find_element(By.CSS_SELECTOR, "p.void").text
        self.assertTrue(mark.startswith(f"VOIDED by {VOIDER}"), mark)
        self.assertIn(VOID_REASON, mark)
        counted = [row for row in timeline if "1,234.56" in row.text]
        self.assertEqual(len(counted), 1)
        self.assertEqual(counted[0].find_elements(By.TAG_NAME, "del"), [])
        self.check_page("case")

        # The caller's trail.
        with self.navigation_to("/actors/"):
            late[0].find_element(By.LINK_TEXT, US_CALLER).click()
        self.assertEqual(self.driver.title, f"Actor {US_CALLER} · CaseLedger")
        self.assertEqual(len(self.driver.find_elements(By.CSS_SELECTOR, "table.timeline tbody tr")), 2)
        self.check_page("actor")

    def test_complaint_evidence_pack_downloads_and_prints(self):
        self.open_session("reader")
        with self.navigation_to("/complaints"):
            self.click_link("Complaints")
        self.check_page("complaints")
        with self.navigation_to(f"/complaints/{US_COMPLAINT}"):
            self.click_link(US_COMPLAINT)
        self.assertEqual(self.driver.title, f"Complaint {US_COMPLAINT} · CaseLedger")
        violations = [li.text for li in self.driver.find_elements(By.CSS_SELECTOR, "ul.violations li")]
        self.assertEqual(len(violations), len(LATE_CALL_BREACHES), violations)
        self.check_page("complaint")

        # The download: Chromium saves the file; it is the pack, as JSON.
        link = self.driver.find_element(By.LINK_TEXT, "evidence.json")
        href = link.get_attribute("href")
        link.click()
        saved = os.path.join(self.downloads, f"evidence-{US_COMPLAINT}.json")
        deadline = time.monotonic() + 20
        while not os.path.exists(saved) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertTrue(os.path.exists(saved), f"no download; the folder has {os.listdir(self.downloads)}")
        with open(saved, encoding="utf-8") as file:
            pack = json.load(file)
        self.assertEqual(pack["complaint"]["filing"]["data"]["complaint_id"], US_COMPLAINT)
        self.assertEqual(pack["complaint"]["filing"]["data"]["description"], XSS_CORPUS)
        # The same link fetched with the browser's session.
        status, headers, body = fetch(href, self.session())
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("application/json"), headers["Content-Type"])
        self.assertEqual(json.loads(body)["complaint"]["filing"]["data"]["complaint_id"], US_COMPLAINT)

        with self.navigation_to(f"/complaints/{US_COMPLAINT}/evidence.html"):
            self.click_link("The printable page")
        body = self.driver.find_element(By.TAG_NAME, "body").text
        self.assertIn(US_COMPLAINT, body)
        self.assertIn(XSS_SCRIPT, body)
        self.check_evidence_page()

    def check_evidence_page(self):
        """The printable page is a document of its own (its stylesheet inside): screenshot, no script."""
        shot = self.driver.get_screenshot_as_png()
        with open(os.path.join(ARTIFACTS, f"{self._testMethodName.removeprefix('test_')}--evidence-html.png"), "wb") as file:
            file.write(shot)
        width, height, ink, colours = ink_share(shot)
        self.assertEqual((width, height), (WIDTH, HEIGHT))
        self.assertGreater(ink, 0.01, "the printable page's screenshot is nearly blank")
        self.assertEqual(self.driver.execute_script("return document.scripts.length"), 0)
        self.assertEqual(self.driver.execute_script("return typeof window.__pwned"), "undefined")
        status, headers, body = fetch(self.driver.current_url, self.session())
        self.assertEqual(status, 200)
        parsed = parse_page(body.decode("utf-8"))
        self.assertEqual(parsed.problems, [])
        self.assertEqual(parsed.scripts, 0)

    def test_what_if_compares_two_rulebooks(self):
        self.open_session("auditor")
        with self.navigation_to("/compliance"):
            self.click_link("Compliance")
        self.check_page("compliance")
        before, after, before_count, after_count = WHAT_IF
        form = self.driver.find_element(By.CSS_SELECTOR, "form.whatif")
        Select(form.find_element(By.NAME, "before")).select_by_value(before)
        Select(form.find_element(By.NAME, "after")).select_by_value(after)
        with self.navigation_to("/compliance/what-if"):
            form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.assertEqual(self.driver.title, f"What if: {before} → {after} · CaseLedger")
        summary = self.text("p.summary")
        self.assertTrue(summary.startswith(f"{before} → {after}: {before_count} → {after_count} violations"), summary)
        self.assertEqual(self.text("p.summary strong"), f"{before_count} → {after_count}")
        _, _, source = fetch(self.url("/compliance/what-if"), self.session(), data={"before": before, "after": after})
        self.check_page("what-if", source=source)

    def test_regulator_sees_only_its_region(self):
        self.open_session("regulator")
        self.assertIn("region:US", self.text("header.top .who"))
        ids = [a.text for a in self.driver.find_elements(By.CSS_SELECTOR, "table.list tbody td:first-child a")]
        self.assertEqual(ids, [US_CASE])
        search = self.driver.find_element(By.NAME, "q")
        search.send_keys(CN_ACCOUNT)
        with self.navigation_to("/cases?q="):
            search.submit()
        self.assertEqual(self.driver.find_elements(By.CSS_SELECTOR, "table.list tbody tr"), [])
        self.assertEqual(self.text("p.empty"), "No case matches.")
        self.check_page("cases-search")

        # The Shanghai case's pages are 404, exactly as for a case that does not exist (no oracle).
        for path in (f"/cases/{CN_CASE}", f"/complaints/{CN_COMPLAINT}?case={CN_CASE}",
                     f"/complaints/{CN_COMPLAINT}/evidence.json?case={CN_CASE}",
                     f"/complaints/{CN_COMPLAINT}/evidence.html?case={CN_CASE}", "/integrity", "/access-log"):
            self.driver.get(self.url(path))
            self.assertEqual(self.driver.title, "Not Found · CaseLedger", path)
            self.assertNotIn(CN_ACCOUNT, self.driver.page_source)
            status, _, body = fetch(self.url(path), self.session())
            self.assertEqual(status, 404, path)
            missing = path.replace(CN_CASE, "C-NONE-0000").replace(CN_COMPLAINT, "CMP-NONE-0")
            _, _, missing_body = fetch(self.url(missing), self.session())
            self.assertEqual(body.decode().replace(CN_CASE, "C-NONE-0000").replace(CN_COMPLAINT, "CMP-NONE-0"),
                             missing_body.decode(), f"{path}: the 404 differs from one for a case that does not exist")
        self.driver.get(self.url(f"/cases/{CN_CASE}"))
        self.check_page_status_404()

        with self.navigation_to("/complaints"):
            self.click_link("Complaints")
        self.assertEqual([a.text for a in self.driver.find_elements(By.CSS_SELECTOR, "table.list tbody td:first-child a")],
                         [US_COMPLAINT])
        self.check_page("complaints")

        with self.navigation_to("/compliance"):
            self.click_link("Compliance")
        charts = {figure.find_element(By.TAG_NAME, "figcaption").text: figure
                  for figure in self.driver.find_elements(By.CSS_SELECTOR, "figure.chart")}
        regions = [label.text for label in charts["Violations by region"].find_elements(By.CSS_SELECTOR, "svg text.label")]
        self.assertEqual(regions, ["US-NY"])
        actors = [label.text for label in charts["Violations by actor (the most)"].find_elements(By.CSS_SELECTOR, "svg text.label")]
        self.assertNotIn("collector:zhang.wei", actors)
        self.assertNotIn("CN-SH", self.driver.find_element(By.TAG_NAME, "main").text)
        self.assertEqual(self.driver.find_elements(By.CSS_SELECTOR, "form.whatif"), [])
        self.check_page("compliance")

    def check_page_status_404(self):
        """The not-found page is a page like the others (but fetched again it answers 404)."""
        shot = self.driver.get_screenshot_as_png()
        with open(os.path.join(ARTIFACTS, f"{self._testMethodName.removeprefix('test_')}--not-found.png"), "wb") as file:
            file.write(shot)
        self.assertGreater(ink_share(shot)[2], 0.01)
        # The browser reports each 404 it was shown in its console: expected here, so drained.
        self.driver.get_log("browser")
        _, _, body = fetch(self.driver.current_url, self.session())
        text = body.decode("utf-8")
        ET.fromstring(text.split("\n", 1)[1])
        self.assertEqual(parse_page(text).problems, [])

    def test_the_auditor_pages(self):
        self.open_session("auditor")
        # Reach the actor page and the case before looking at who read what.
        self.driver.get(self.url(f"/cases/{US_CASE}"))
        with self.navigation_to("/integrity"):
            self.click_link("Integrity")
        with self.navigation_to("/integrity"):
            self.driver.find_element(By.CSS_SELECTOR, "form[action='/integrity/verify'] button").click()
        outcome = self.text("main section p")
        self.assertTrue(outcome.startswith("ok: 11 events"), outcome)
        self.check_page("integrity")
        with self.navigation_to("/access-log"):
            self.click_link("Access log")
        rows = [row.text for row in self.driver.find_elements(By.CSS_SELECTOR, "table.list tbody tr")]
        self.assertTrue(any("aud.ines" in row and f"/cases/{US_CASE}" in row for row in rows), rows[:5])
        self.check_page("access-log")

    def test_sign_out_then_a_protected_page_asks_to_sign_in(self):
        self.open_session("auditor")
        old = self.session()
        with self.navigation_to("/sign-in"):
            self.driver.find_element(By.CSS_SELECTOR, "form.signout button").click()
        self.assertIsNone(self.session())
        self.driver.get(self.url(f"/cases/{US_CASE}"))
        self.wait_for_path("/sign-in")
        self.assertEqual(self.driver.title, "Sign in · CaseLedger")
        self.assertEqual(urllib.parse.parse_qs(urllib.parse.urlsplit(self.driver.current_url).query).get("next"),
                         [f"/cases/{US_CASE}"])
        # The old session is closed on the server too, not only forgotten by the browser.
        status, headers, _ = fetch(self.url("/cases"), old)
        self.assertEqual(status, 303)
        self.assertTrue(headers["Location"].startswith("/sign-in"), headers["Location"])

    def test_xss_corpus_is_shown_as_text_and_never_runs(self):
        self.open_session("reader")
        visible_corpus = XSS_CORPUS.replace("\u0007", "⟨U+0007⟩").replace("\u001b", "⟨U+001B⟩") \
            .replace("\u007f", "⟨U+007F⟩").replace("\u0085", "⟨U+0085⟩").replace("\u202e", "⟨U+202E⟩") \
            .replace("\u2069", "⟨U+2069⟩")

        self.driver.get(self.url(f"/complaints/{US_COMPLAINT}?case={US_CASE}"))
        shown = self.text("blockquote.user-text")
        self.assertEqual(shown, visible_corpus)
        self.assert_nothing_ran()
        self.check_page("complaint")

        self.driver.get(self.url(f"/cases/{US_CASE}"))
        timeline = self.driver.find_element(By.CSS_SELECTOR, "table.timeline").text
        self.assertIn(XSS_SCRIPT, timeline)
        self.assertIn("⟨U+202E⟩evil⟨U+202C⟩", timeline)
        self.assert_nothing_ran()
        self.check_page("case")

        self.driver.get(self.url("/actors/" + urllib.parse.quote(NOTE_ACTOR, safe=":@")))
        self.assertEqual(self.driver.title, f"Actor {NOTE_ACTOR} · CaseLedger")
        trail = self.driver.find_element(By.CSS_SELECTOR, "table.timeline").text
        self.assertIn(XSS_SCRIPT, trail)
        self.assertIn(XSS_IMG, trail)
        self.assert_nothing_ran()
        self.check_page("actor")

        self.driver.get(self.url(f"/complaints/{US_COMPLAINT}/evidence.html?case={US_CASE}"))
        self.assertIn(XSS_SCRIPT, self.driver.find_element(By.TAG_NAME, "body").text)
        self.assert_nothing_ran()
        self.check_evidence_page()

    def assert_nothing_ran(self):
        driver = self.driver
        self.assertEqual(driver.execute_script("return typeof window.__pwned"), "undefined")
        self.assertEqual(driver.execute_script("return document.scripts.length"), 0)
        self.assertEqual(driver.execute_script("return document.querySelectorAll('script, img, iframe, object, embed').length"), 0)
        self.assertEqual(driver.execute_script(
            "return [...document.querySelectorAll('a')].filter(a => /^\\s*javascript:/i.test(a.getAttribute('href'))).length"), 0)
        self.assertEqual(driver.execute_script(
            "return [...document.querySelectorAll('*')].filter(e => [...e.attributes].some(a => /^on/i.test(a.name))).length"), 0)


def main():
    global BINARY, ARTIFACTS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True, help="the caseledger binary")
    parser.add_argument("--artifacts", required=True, help="where the screenshots go (created)")
    parser.add_argument("unittest_args", nargs="*", help="after --: passed to unittest")
    arguments = parser.parse_args()
    BINARY = os.path.abspath(arguments.binary)
    ARTIFACTS = os.path.abspath(arguments.artifacts)
    os.makedirs(ARTIFACTS, exist_ok=True)
    for binary in ("chromium", "chromedriver"):
        if not shutil.which(binary):
            print(f"console_test: {binary} is not on PATH (Debian: apt-get install chromium chromium-driver)", file=sys.stderr)
            return 2
    started = time.monotonic()
    program = unittest.main(argv=[sys.argv[0], *arguments.unittest_args], exit=False, verbosity=2)
    # Last, where a truncated log still shows it: which test failed, and on what, in one line each.
    result = program.result
    for kind, problems in (("FAIL", result.failures), ("ERROR", result.errors)):
        for test, trace in problems:
            lines = [line for line in trace.strip().splitlines() if line.strip()]
            # The last exception's line (a retried test's trace holds the first run's too).
            causes = [line for line in lines if re.match(r"[A-Za-z_.]+(Error|Exception)\b", line)] or lines[-1:]
            cause = causes[-1] if causes else ""
            print(f"console_test: {kind} {test.id().split('.')[-1]}: {cause.strip()[:400]}", file=sys.stderr)
    print(f"console_test: {time.monotonic() - started:.1f} s; screenshots in {ARTIFACTS}", file=sys.stderr)
    return 0 if program.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
