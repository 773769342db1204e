"""What a new user meets in the browser, checked in a real one: Debian's Chromium, headless,
driven over the Chrome DevTools Protocol (plain websockets through aiohttp, no extra package).

It starts the demo's Home Assistant (``tools/demo.py``: real server, frontend, virtual home,
Needle on its built-in model) in a fresh config folder, opens the UI as the demo user and:

1. runs Needle's config flow the way a user does: "Convert a Needle v1 checkpoint", a path that
   does not exist (the error must show next to the field at once), then a file that exists but
   is no checkpoint (the progress step must end and come back with its error, not spin); the
   fields must keep what was typed;
2. opens the Assist dialog, types "turn on the kitchen light" and checks the reply shown and
   that the light is on in ``/api/states``.

Prints one line per check and PASS/FAIL; exit code 0 (pass), 1 (fail), 77 (could not run:
no Chromium, no frontend package; the message says which). ``tests/browser`` runs it.

    .venv/bin/python tools/browser_check.py [--chromium /usr/bin/chromium] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import demo  # noqa: E402  (tools/demo.py: the server, its login and Needle's setup)

SKIP = 77  # exit code: the check could not run here (automake's "skipped")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--window-size=1280,900",
    "--remote-debugging-port=0",
)
ASSIST_TEXT = demo.SELFTEST_TEXT  # "turn on the kitchen light"
ASSIST_ENTITY = demo.SELFTEST_ENTITY

# Walks the page *through shadow roots* (HA's frontend is web components all the way down).
_JS_HELPERS = r"""
window.__n = {
  all(root) {
    const out = [];
    const walk = (node) => {
      for (const el of node.children || []) {
        out.push(el);
        if (el.shadowRoot) walk(el.shadowRoot);
        walk(el);
      }
    };
    root = root || document;
    if (root.shadowRoot) walk(root.shadowRoot);
    walk(root);
    return out;
  },
  visible(el) {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  },
  text(root) {
    const parts = [];
    const walk = (node) => {
      for (const child of node.childNodes || []) {
        if (child.nodeType === 3) parts.push(child.textContent);
        else if (child.nodeType === 1 && !['STYLE', 'SCRIPT'].includes(child.tagName)) {
          if (child.shadowRoot) walk(child.shadowRoot);
          walk(child);
        }
      }
    };
    root = root || document;
    if (root.shadowRoot) walk(root.shadowRoot);
    walk(root);
    return parts.join(' ').replace(/\s+/g, ' ');
  },
  dialog() {
    return this.all().find((el) => el.tagName === 'DIALOG-DATA-ENTRY-FLOW') || null;
  },
  // the innermost visible element whose own text is `label` (a button, a radio's label...)
  // the innermost shown element whose own text is `label` (a button, a radio's label...);
  // text in a <slot> (no box of its own) counts for the nearest ancestor that has one
  byText(label, root) {
    const want = label.toLowerCase();
    const hits = this.all(root).filter((el) =>
      [...el.childNodes].some((c) => c.nodeType === 3 && c.textContent.trim().toLowerCase() === want));
    for (let i = hits.length - 1; i >= 0; i--) {
      let el = hits[i];
      while (el && !this.visible(el)) el = el.parentElement || (el.getRootNode() || {}).host;
      if (el) return el;
    }
    return null;
  },
  click(el) {
    // a real mouse click at the element's centre, so that the frontend's own handlers run
    const r = el.getBoundingClientRect();
    return [r.left + r.width / 2, r.top + r.height / 2];
  },
  inputs(root) {
    return this.all(root).filter((el) => el.tagName === 'INPUT' && this.visible(el) &&
      ['text', 'search', ''].includes(el.type));
  },
};
true
"""


class CdpError(RuntimeError):
    pass


class Page:
    """One Chromium tab over CDP: commands, JS evaluation, real mouse and keyboard input."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self._id = 0
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self.console: list[str] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        import aiohttp

        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            if "id" in data and (fut := self._waiting.pop(data["id"], None)) is not None:
                if "error" in data:
                    fut.set_exception(CdpError(str(data["error"])))
                else:
                    fut.set_result(data.get("result", {}))
            elif data.get("method") == "Runtime.exceptionThrown":
                detail = data["params"]["exceptionDetails"]
                self.console.append(
                    f"exception: {detail.get('text')} {detail.get('exception', {}).get('description', '')[:200]}"
                )
            elif data.get("method") == "Runtime.consoleAPICalled":
                args = data["params"].get("args", [])
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in args)
                self.console.append(f"{data['params'].get('type')}: {text[:300]}")

    async def send(self, method: str, **params: Any) -> Any:
        self._id += 1
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[self._id] = fut
        await self.ws.send_json({"id": self._id, "method": method, "params": params})
        return await asyncio.wait_for(fut, 30)

    async def js(self, expression: str) -> Any:
        """Evaluate in the page (promises awaited); the value, or CdpError with the JS error."""
        result = await self.send(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise CdpError(json.dumps(result["exceptionDetails"])[:500])
        return result.get("result", {}).get("value")

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", url=url)
        await self.until("the page to load", "document.readyState === 'complete'", 30)

    async def helpers(self) -> None:
        await self.js(_JS_HELPERS)

    async def until(self, what: str, expression: str, timeout: float) -> Any:
        """Poll a JS expression until it is truthy; TimeoutError names what did not happen."""
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(CdpError):
                if value := await self.js(expression):
                    return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {what} within {timeout:.0f} s")
            await asyncio.sleep(0.2)

    async def click_at(self, x: float, y: float) -> None:
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            await self.send(
                "Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1
            )

    async def click(self, locate_js: str, what: str, timeout: float = 15) -> None:
        """Click the element ``locate_js`` evaluates to, once it is there."""
        await self.helpers()
        point = await self.until(
            what, f"(() => {{ const el = {locate_js}; return el && window.__n.click(el); }})()",
            timeout,
        )  # fmt: skip
        await self.click_at(*point)

    async def click_until(
        self, locate_js: str, done_js: str, what: str, timeout: float = 30
    ) -> None:
        """Click until ``done_js`` holds: a click during a dialog's opening animation is lost,
        so one that changed nothing is repeated (every 2 s)."""
        deadline = time.monotonic() + timeout
        while True:
            await self.click(locate_js, what, max(1.0, deadline - time.monotonic()))
            try:
                await self.until(f"the effect of clicking {what}", done_js, 2)
                return
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise

    async def type_into(self, index: int, text: str, root_js: str = "undefined") -> None:
        """Replace the text of the ``index``-th visible text input (under ``root_js``)."""
        await self.helpers()
        await self.js(f"window.__n.inputs({root_js})[{index}].focus()")
        await self.js(f"window.__n.inputs({root_js})[{index}].select()")
        await self.send("Input.insertText", text=text)

    async def key(self, key: str, code: str, keycode: int, text: str = "") -> None:
        common = {"key": key, "code": code, "windowsVirtualKeyCode": keycode}
        await self.send("Input.dispatchKeyEvent", type="keyDown", text=text, **common)
        await self.send("Input.dispatchKeyEvent", type="keyUp", **common)

    async def text(self, root_js: str = "undefined") -> str:
        await self.helpers()
        return str(await self.js(f"window.__n.text({root_js})") or "")

    async def screenshot(self, path: Path) -> None:
        shot = await self.send("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()


class Chromium:
    """A headless Chromium with its own throw-away profile."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.profile = Path(tempfile.mkdtemp(prefix="needle-chromium-"))
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    async def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=(self.profile / "chromium.log").open("wb"),
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.is_file() or not port_file.read_text().strip():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = (self.profile / "chromium.log").read_text(errors="replace")[-800:]
                raise demo.DemoError(f"Chromium did not start: {log}")
            await asyncio.sleep(0.1)
        self.port = int(port_file.read_text().split()[0])

    async def page(self, session: Any) -> Page:
        async with session.get(f"http://127.0.0.1:{self.port}/json/list") as resp:
            targets = await resp.json(content_type=None)
        target = next(t for t in targets if t.get("type") == "page")
        ws = await session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0)
        page = Page(ws)
        for domain in ("Page", "Runtime"):
            await page.send(f"{domain}.enable")
        return page

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def find_chromium(explicit: str | None) -> str | None:
    for candidate in (explicit, "chromium", "chromium-browser", "google-chrome"):
        if candidate and (path := shutil.which(candidate)):
            return path
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _login(api: demo.Api) -> dict[str, Any]:
    """The demo user's tokens, as the frontend stores them after its own login page."""
    flow = await api._json(
        "post",
        "/auth/login_flow",
        {"client_id": api.client_id, "handler": ["homeassistant", None],
         "redirect_uri": f"{api.base}/?auth_callback=1"},
        auth=False,
    )  # fmt: skip
    step = await api._json(
        "post",
        f"/auth/login_flow/{flow['flow_id']}",
        {"username": demo.USERNAME, "password": demo.PASSWORD, "client_id": api.client_id},
        auth=False,
    )
    async with api.session.post(
        f"{api.base}/auth/token",
        data={"grant_type": "authorization_code", "code": step["result"],
              "client_id": api.client_id},
    ) as resp:  # fmt: skip
        tokens = await resp.json()
    return {
        **tokens,
        "hassUrl": api.base,
        "clientId": api.client_id,
        "expires": int(time.time() * 1000) + int(tokens["expires_in"]) * 1000,
    }


DIALOG = "window.__n.dialog()"
SUBMIT = f"window.__n.byText('Submit', {DIALOG}) || window.__n.byText('Next', {DIALOG})"
REFERENCE = ROOT / "tests" / "data" / "needle-v1-reference"
SERVER_ROOT = str(ROOT)  # where the server sees this repository (--server-root)


def on_server(path: Path) -> str:
    """A path of this repository as the Home Assistant under test sees it."""
    return SERVER_ROOT + str(path)[len(str(ROOT)) :]


async def dismiss_http_confirmation(page: Page) -> None:
    """HA 2026.x asks to confirm HTTP settings that differ from its defaults (the demo's port
    and listen address), over every page: a user clicks Confirm, and so does this."""
    await page.helpers()
    dialog = (
        "window.__n.all().find((el) => el.shadowRoot && window.__n.visible(el) && "
        "window.__n.text(el).includes('Confirm new HTTP server configuration') && "
        "window.__n.byText('Confirm', el))"
    )
    with contextlib.suppress(TimeoutError):
        await page.until("HA's HTTP confirmation", dialog, 3)
        await page.click_until(
            f"window.__n.byText('Confirm', {dialog})", f"!{dialog}", "Confirm", 10
        )


async def check_config_flow(page: Page, api: demo.Api, work: Path) -> str:
    """The checkpoint conversion's error paths, clicked and typed as a user would."""
    # files of this repository, as the server sees them (--server-root: HA in a chroot)
    not_a_checkpoint = on_server(REFERENCE / "README.md")  # text, not a pickle
    missing = on_server(ROOT / "no-such-checkpoint.pkl")
    tokenizer = on_server(ROOT / "tests" / "data" / "cactus-needle" / "tokenizer.model")
    small = on_server(REFERENCE / "small.pkl")

    url = f"{api.base}/config/integrations/dashboard/add?domain={demo.NEEDLE}"
    await page.goto(url)
    await dismiss_http_confirmation(page)
    # the link a user follows ("add integration" -> Needle) asks to confirm first (not always)
    confirm = "window.__n.all().find((el) => el.tagName === 'DIALOG-BOX')"
    opened = f"{DIALOG} && window.__n.text({DIALOG}).includes('Choose where the model comes from')"
    deadline = time.monotonic() + 60
    reloaded = False
    while not await page.js(opened):
        if await page.js(f"!!({confirm} && window.__n.byText('OK', {confirm}))"):
            with contextlib.suppress(TimeoutError):
                await page.click_until(
                    f"window.__n.byText('OK', {confirm})", opened, "the 'set up Needle?' OK", 10
                )
        elif not reloaded and time.monotonic() > deadline - 40:
            await page.goto(url)  # the route was taken before the integrations had loaded
            await page.helpers()
            reloaded = True
        if time.monotonic() > deadline:
            raise TimeoutError("the Needle config flow dialog did not open within 60 s")
        await asyncio.sleep(0.3)
    checkpoint_form = f"window.__n.inputs({DIALOG}).length >= 2"
    await page.click_until(
        f"window.__n.byText('Convert a Needle v1 checkpoint', {DIALOG})",
        # the selector's value (2025.4 and 2026.11 draw different radio elements)
        f"window.__n.all({DIALOG}).some((el) => (el.tagName === 'HA-SELECTOR-SELECT' "
        "&& el.value === 'checkpoint') || (el.checked === true && el.value === 'checkpoint'))",
        "the checkpoint choice",
    )
    await page.click_until(
        f"window.__n.byText('Next', {DIALOG}) || window.__n.byText('Submit', {DIALOG})",
        checkpoint_form,
        "the Next button",
    )

    # 1. a path that does not exist: answered on the form, next to the field
    await page.type_into(0, str(missing), DIALOG)
    await page.type_into(1, str(tokenizer), DIALOG)
    await page.click(
        f"window.__n.byText('Submit', {DIALOG}) || window.__n.byText('Next', {DIALOG})",
        "the Submit button",
    )
    await page.until(
        "the missing-file error",
        f"window.__n.text({DIALOG}).includes('There is no file at this path')",
        20,
    )
    kept = await page.js(f"window.__n.inputs({DIALOG}).map((i) => i.value)")
    if kept[:2] != [str(missing), str(tokenizer)]:
        raise AssertionError(f"the form lost what was typed: {kept}")

    # 2. a file that is no checkpoint: the progress step, then its own error (the issue: spun for ever)
    await page.type_into(0, str(not_a_checkpoint), DIALOG)
    started = time.monotonic()
    await page.click(
        f"window.__n.byText('Submit', {DIALOG}) || window.__n.byText('Next', {DIALOG})",
        "the Submit button",
    )
    saw_progress = False
    deadline = time.monotonic() + 30
    while True:
        text = await page.text(DIALOG)
        saw_progress = saw_progress or "Converting the checkpoint" in text
        if "This is not a Needle v1 checkpoint" in text:
            break
        if time.monotonic() > deadline:
            await page.screenshot(work / "config-flow.png")
            raise AssertionError(
                f"the dialog did not come back with the error within 30 s "
                f"(progress shown: {saw_progress}); it shows: {text[-300:]!r}"
            )
        await asyncio.sleep(0.1)
    took = time.monotonic() - started
    kept = await page.js(f"window.__n.inputs({DIALOG}).map((i) => i.value)")
    if kept[:1] != [str(not_a_checkpoint)]:
        raise AssertionError(f"the form lost what was typed: {kept}")
    entries = await api.ws("config_entries/get", domain=demo.NEEDLE)
    if len(entries) != 1:
        raise AssertionError(f"expected only the demo's entry, found {len(entries)}")

    # 3. a real (small, random-weight) checkpoint: progress, then the entry
    await page.type_into(0, small, DIALOG)
    started = time.monotonic()
    await page.click_until(
        SUBMIT,
        f"!window.__n.text({DIALOG}).includes('This is not a Needle v1 checkpoint')",
        "the Submit button",
    )  # the previous error goes with the form
    new: list[dict[str, Any]] = []
    while not new:  # the dialog's last step differs between HA versions; the entry does not
        entries = await api.ws("config_entries/get", domain=demo.NEEDLE)
        new = [e for e in entries if e["title"].startswith("Needle (small")]
        text = await page.text(DIALOG)
        if time.monotonic() - started > 90 or (
            not new
            and await page.js(f"window.__n.inputs({DIALOG}).length >= 2")
            and time.monotonic() - started > 5  # the form is back: an error
        ):
            raise AssertionError(f"no entry 'Needle (small...)'; the dialog shows {text[-300:]!r}")
        await asyncio.sleep(0.3)
    converted = time.monotonic() - started
    await api.delete(f"/api/config/config_entries/entry/{new[0]['entry_id']}")
    return (
        "missing path: error at the field at once; not a checkpoint: "
        f"{'progress, then ' if saw_progress else ''}its error after {took:.1f} s; "
        f"fields keep what was typed; small.pkl: converted, entry {new[0]['title']!r} "
        f"after {converted:.1f} s"
    )


async def check_assist(page: Page, api: demo.Api, work: Path) -> str:
    """One Assist conversation in the frontend's own dialog."""
    await api.post("/api/services/light/turn_off", {"entity_id": ASSIST_ENTITY})
    await page.goto(f"{api.base}/lovelace/0")
    await dismiss_http_confirmation(page)
    await page.until(
        "the Overview",
        "window.__n.all().some((el) => el.tagName === 'HUI-VIEW' || el.tagName === 'HUI-MASONRY-VIEW' || el.tagName === 'HUI-SECTIONS-VIEW')",
        60,
    )
    voice = "window.__n.all().find((el) => el.tagName === 'HA-VOICE-COMMAND-DIALOG')"
    await page.click_until(
        "window.__n.all().find((el) => el.tagName === 'HA-ICON-BUTTON' && "
        "(el.label || el.getAttribute('label') || '').toLowerCase().startsWith('assist') && "
        "window.__n.visible(el))",
        f"{voice} && window.__n.inputs({voice}).length >= 1",
        "the Assist button",
        40,
    )
    before = await page.text(voice)
    await page.type_into(0, ASSIST_TEXT, voice)
    await page.key("Enter", "Enter", 13, "\r")
    started = time.monotonic()
    reply = ""
    while time.monotonic() - started < 30:  # the reply bubble replaces the "..." one
        shown = await page.text(voice)
        if ASSIST_TEXT in shown.replace(before, " "):
            after = shown.split(ASSIST_TEXT)[-1].replace("Enter a request", "").strip()
            if after and after.strip(".… ") and "…" not in after:
                reply = after
                break
        await asyncio.sleep(0.2)
    took = time.monotonic() - started
    state = ""
    for _ in range(20):
        state = (await api.get(f"/api/states/{ASSIST_ENTITY}"))["state"]
        if state == "on":
            break
        await asyncio.sleep(0.25)
    if not reply or state != "on":
        raise AssertionError(f"the dialog shows {reply[-200:]!r}; {ASSIST_ENTITY} is {state}")
    return (
        f"{ASSIST_TEXT!r} -> the dialog shows {reply[:80]!r} after {took:.1f} s; "
        f"{ASSIST_ENTITY} off -> {state}"
    )


async def async_run(
    args: argparse.Namespace, chromium_path: str, work: Path, base: str, server: demo.Server | None
) -> int:
    """The checks against ``server`` (started here), or against the demo already running at
    ``base`` when ``server`` is None (``--url``)."""
    config = work / "config"
    api = demo.Api(base)
    browser = Chromium(chromium_path)
    failed: list[str] = []
    page: Page | None = None
    print(f"== Home Assistant on {base}, Chromium {chromium_path}")
    try:
        if server is not None:
            server.start()
            startup = await demo.async_wait_ready(server, api, demo.DEFAULT_HOME, args.timeout)
        else:
            startup = 0.0
            await api.login(demo.USERNAME, demo.PASSWORD)
        setup = await demo.async_ensure_needle(api, server.alive if server else lambda: None)
        await demo.async_ensure_pipeline(api, setup)
        print(f"== Ready after {startup:.1f} s; agent {setup.agent_id}")
        # HA 2026.x asks in every page to confirm HTTP settings that differ from its defaults
        # (the demo's port and address), and reverts them otherwise: confirm them as a user would
        with contextlib.suppress(demo.DemoError):
            await api.ws("http/config/promote")
        tokens = await _login(api)
        await browser.start()
        page = await browser.page(api.session)
        await page.goto(f"{base}/auth/providers")  # same origin, to store the login
        await page.js(f"localStorage.setItem('hassTokens', {json.dumps(json.dumps(tokens))})")

        checks: list[tuple[str, Callable[[Page, demo.Api, Path], Awaitable[str]]]] = [
            ("config flow: checkpoint errors come back to the form", check_config_flow),
            ("Assist dialog: a conversation changes the light", check_assist),
        ]
        for name, run in checks:
            started = time.monotonic()
            try:
                detail = await run(page, api, work)
                print(f"  [ok] {name}: {detail} ({time.monotonic() - started:.1f} s)")
            except Exception as err:
                failed.append(name)
                print(f"  [FAIL] {name}: {type(err).__name__}: {err}")
                shot = work / f"fail-{len(failed)}.png"
                with contextlib.suppress(Exception):
                    await page.screenshot(shot)
                    print(f"         screenshot {shot}; page text: {(await page.text())[-400:]!r}")
                for line in page.console[-8:]:
                    print(f"         console {line}")
        print(f"BROWSER {'FAIL' if failed else 'PASS'}: {2 - len(failed)}/2 checks passed")
        return 1 if failed else 0
    except demo.DemoError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 1
    finally:
        if page is not None:
            with contextlib.suppress(Exception):
                await page.close()
        browser.stop()
        with contextlib.suppress(Exception):
            await api.close()
        if server is not None:
            server.stop()
        if failed or args.keep:
            print(f"== Kept {work} (HA's log: {config / 'home-assistant.log'})")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tools/browser_check.py", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--chromium", help="the browser binary (default: chromium on PATH)")
    parser.add_argument("--timeout", type=float, default=300, help="HA startup timeout, s")
    parser.add_argument("--keep", action="store_true", help="keep the config folder afterwards")
    parser.add_argument(
        "--url",
        help="check the demo already running there (e.g. `bash scripts/demo --port 8765` on HA "
        "2026.11 in its sid root) instead of starting one",
    )
    parser.add_argument(
        "--server-root",
        help="where that server sees this repository (the sid root's /repo), for the paths "
        "typed into the form",
    )
    args = parser.parse_args(argv)
    global SERVER_ROOT
    SERVER_ROOT = args.server_root or SERVER_ROOT
    chromium_path = find_chromium(args.chromium)
    if chromium_path is None:
        print("SKIP: no Chromium found (Debian: apt-get install -y chromium)")
        return SKIP
    work = Path(tempfile.mkdtemp(prefix="needle-browser-"))
    if args.url:
        return asyncio.run(async_run(args, chromium_path, work, args.url.rstrip("/"), None))
    try:
        import hass_frontend  # noqa: F401
    except ImportError:
        print(
            "SKIP: Home Assistant's frontend is not installed (pip install -r demo/requirements.txt, or run scripts/demo once)"
        )
        return SKIP
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    port = _free_port()
    # the owner user is written with HA's code before the server starts (its own event loop)
    demo.prepare_config(work / "config", demo.DEFAULT_HOME, "127.0.0.1", port, reset=False)
    server = demo.Server(work / "config", port)
    return asyncio.run(async_run(args, chromium_path, work, f"http://127.0.0.1:{port}", server))


if __name__ == "__main__":
    sys.exit(main())
