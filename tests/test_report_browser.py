"""The rendered report in a real browser: headless Chromium, driven over the DevTools protocol.

The workflow runs on a small configuration in a temporary folder (as tests/test_workflow.py
does); Chromium opens results/report/index.html and the test checks that the page logs no
error (console, uncaught exception, failed load), that every <img> loaded (naturalWidth > 0),
that every section the template defines is on the page and visible, and saves screenshots under
the test's temporary folder (their paths are printed; run with -s to see them).

Chromium is driven with --remote-debugging-pipe (JSON messages separated by NUL bytes on file
descriptors 3 and 4), so no websocket package is needed. Without Chromium the test is skipped;
on Debian: `apt-get install -y chromium`.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from system_tools import system_program
from workflow_setup import write_run_config

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "src" / "her2meta" / "templates"
STUDIES = ["SIM-NEOSPHERE", "SIM-BUZDAR"]
ANALYSES = ["pcr_by_hr", "efs_by_hr"]
CHROMIUM, NEEDS_CHROMIUM = system_program("chromium", "chromium-browser", install="apt-get install -y chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-extensions", "--hide-scrollbars", "--mute-audio",
         "--window-size=1280,1000", "--remote-debugging-pipe"]

pytestmark = [
    pytest.mark.workflow,
    NEEDS_CHROMIUM,
]


class Browser:
    """A minimal Chrome DevTools Protocol client over --remote-debugging-pipe."""

    def __init__(self, profile: Path, timeout: float = 60):
        self.timeout = timeout
        self._id = 0
        self._buffer = b""
        self.events: list[dict] = []
        chrome_in, self._write = os.pipe()   # Chromium reads commands on its fd 3
        self._read, chrome_out = os.pipe()   # and writes replies and events on its fd 4

        def child_fds():  # in the child: its ends of the pipes on fds 3 and 4, whatever numbers they had
            high_in = fcntl.fcntl(chrome_in, fcntl.F_DUPFD, 10)
            high_out = fcntl.fcntl(chrome_out, fcntl.F_DUPFD, 10)
            os.dup2(high_in, 3)
            os.dup2(high_out, 4)

        self.process = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                        pass_fds=(3, 4), preexec_fn=child_fds, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(chrome_in)
        os.close(chrome_out)
        self.session: str | None = None

    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no reply from Chromium")
            ready, _, _ = select.select([self._read], [], [], remaining)
            if ready:
                chunk = os.read(self._read, 1 << 20)
                if not chunk:
                    raise EOFError(f"Chromium closed the pipe: {self.process.stderr.read().decode(errors='replace')[-2000:]}")
                self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, *, session: bool = True) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> dict:
        deadline = time.monotonic() + self.timeout
        while True:
            for event in self.events:
                if event.get("method") == method:
                    return event
            self.events.append(self._receive(deadline))

    def open(self, url: str) -> None:
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.call("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        params = {"format": "png", "captureBeyondViewport": full_page}
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", params)["data"]))
        return path

    def errors(self) -> list[str]:
        out = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                out.append("console: " + " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                out.append("exception: " + str(details.get("exception", {}).get("description") or details.get("text")))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                out.append(f"log ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}".strip())
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                out.append(f"network: {params.get('errorText')} ({params.get('type')})")
        return out

    def close(self) -> None:
        try:
            self.call("Browser.close", session=False)
        except Exception:  # noqa: BLE001 (closing anyway)
            pass
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        os.close(self._write)
        os.close(self._read)


def inspect_page(html: Path, shots: Path) -> dict:
    """Open a report in headless Chromium; return what the tests check, with screenshot paths."""
    shots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        browser = Browser(Path(profile))
        try:
            browser.open(html.resolve().as_uri())
            browser.evaluate("Promise.all([...document.images].map(i => i.decode().catch(() => null)))")
            page = browser.evaluate("""(() => ({
                images: [...document.images].map(i => ({alt: i.alt, complete: i.complete, width: i.naturalWidth,
                                                        height: i.naturalHeight, src: i.src.slice(0, 40)})),
                headings: [...document.querySelectorAll('h2')].map(h => ({id: h.id, text: h.textContent.trim(),
                                                                          height: h.getBoundingClientRect().height})),
                title: document.title,
                bodyHeight: document.documentElement.scrollHeight,
            }))()""")
            page["errors"] = browser.errors()
            page["screenshot_top"] = str(browser.screenshot(shots / "report_top.png", full_page=False))
            page["screenshot"] = str(browser.screenshot(shots / "report.png", full_page=True))
        finally:
            browser.close()
    return page


def template_sections() -> tuple[list[str], list[str]]:
    """(static h2 headings, h2 ids of the included partials) that the report template defines."""
    source = (TEMPLATES / "report.html").read_text(encoding="utf-8")
    static = [" ".join(h.split()) for h in re.findall(r"<h2[^>]*>([^<{]+)</h2>", source)]
    ids = []
    for partial in re.findall(r"{%-?\s*include\s+[\"']([^\"']+)[\"']", source):
        path = TEMPLATES / partial
        if path.is_file():
            ids += re.findall(r"<h2 id=\"([^\"{]+)\"", path.read_text(encoding="utf-8"))
    return static, ids


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    work = tmp_path_factory.mktemp("browser")
    # One sensitivity analysis (its report section renders too, at a small cost); the sheet's
    # excluded rows are kept, so the flow diagram shows them.
    sensitivity = [a for a in yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["sensitivity"]["analyses"]
                   if a in ANALYSES][:1]
    write_run_config(work, studies=STUDIES, analyses=ANALYSES, sensitivity=sensitivity, keep_excluded=True)
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(work), "--cores", "2",
         "results/report/index.html"],
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return work


@pytest.fixture(scope="module")
def page(run_dir, tmp_path_factory):
    shots = tmp_path_factory.mktemp("screenshots")
    result = inspect_page(run_dir / "results" / "report" / "index.html", shots)
    print(f"\nreport screenshots: {result['screenshot_top']} {result['screenshot']}")
    return result


def test_page_logs_no_error(page):
    assert page["errors"] == []


def test_every_image_loaded(page):
    images = page["images"]
    assert len(images) >= len(ANALYSES) + 2  # a forest plot per analysis, KM pooled and per study
    broken = [i for i in images if not (i["complete"] and i["width"] > 0 and i["height"] > 0)]
    assert not broken, broken
    assert all(i["src"].startswith("data:image/") for i in images)  # self-contained: nothing fetched


def test_every_section_is_present_and_visible(page):
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    headings = {h["text"]: h for h in page["headings"]}
    by_id = {h["id"]: h for h in page["headings"] if h["id"]}
    static, partial_ids = template_sections()
    assert {"Summary of findings", "Methods", "Software"} <= set(static)
    for text in static:
        assert text in headings, f"section {text!r} missing"
    for analysis in ANALYSES:
        assert analysis in by_id and by_id[analysis]["text"] == config["analyses"][analysis]["title"]
    for section in partial_ids:
        assert section in by_id, f"section {section!r} (an included partial) missing"
    assert all(h["height"] > 0 for h in page["headings"]), [h for h in page["headings"] if h["height"] <= 0]
    assert page["title"] == config["report"]["title"]


def test_screenshots_are_saved(page):
    for key in ("screenshot_top", "screenshot"):
        data = Path(page[key]).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert width >= 1000 and height >= 800
    full = Path(page["screenshot"]).read_bytes()
    assert int.from_bytes(full[20:24], "big") >= min(page["bodyHeight"], 16000) * 0.9
