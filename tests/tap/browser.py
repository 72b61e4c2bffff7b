"""Headless Chromium, driven by Selenium, against `layernet serve`'s listing
page: the steps a person takes in a browser, checked on the server's disk.

    browser.py MODE URL ROOT SHOTS
MODE: writable (upload through the page's file input, see the progress
finish and the file listed, download it by its link and compare the bytes,
delete it after the confirmation), auth (--auth user:pass: an upload without
credentials shows the 401 on the page, with them it works), read-only (no
upload controls; the listing still reads and sorts). ROOT: serve's root
directory; SHOTS: a folder for screenshots, for a person to look at.
Prints one `ok ...` line per check; exits non-zero on the first failure.
"""

import hashlib
import os
import signal
import sys
import tempfile
import time

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 60  # seconds: generous, a loaded machine runs a debug build


START = time.monotonic()


def ok(what):
    print(f"ok   {what} (at {time.monotonic() - START:.1f} s)", flush=True)


def fail(what):
    print(f"FAIL: {what}", flush=True)
    sys.exit(1)


def browser(downloads):
    o = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
              "--disable-gpu", "--window-size=1100,800"):
        o.add_argument(a)
    o.add_experimental_option("prefs", {
        "download.default_directory": downloads,
        "download.prompt_for_download": False,
    })
    service = webdriver.ChromeService(executable_path="/usr/bin/chromedriver") \
        if hasattr(webdriver, "ChromeService") else None
    return webdriver.Chrome(options=o, service=service) if service else webdriver.Chrome(options=o)


def wait(d, cond, what):
    t0 = time.monotonic()
    try:
        WebDriverWait(d, WAIT).until(lambda d: cond(d))
    except TimeoutException:
        fail(f"{what}: not within {WAIT} s; page messages: {messages(d)}")
    return time.monotonic() - t0


def messages(d):
    try:
        return d.find_element(By.ID, "msgs").text
    except Exception:  # noqa: BLE001 - only for a failure's message
        return "(no message area)"


def names(d):
    # The page reloads after an upload: a row read meanwhile is gone.
    try:
        return [a.text for a in d.find_elements(By.CSS_SELECTOR, "#files tbody td:first-child a")]
    except StaleElementReferenceException:
        return []


def upload(d, path):
    d.find_element(By.ID, "pick").send_keys(path)


def bytes_out(d, port):
    """The live view's `bytes out` of the service on `port`, or None."""
    try:
        for tr in d.find_elements(By.CSS_SELECTOR, "#apps tr"):
            cells = [td.text for td in tr.find_elements(By.TAG_NAME, "td")]
            if cells and cells[0] == str(port):
                return int(cells[4])
    except StaleElementReferenceException:
        pass
    return None


def live(d, url, shots):
    """/_stack while curl downloads: the connection shows, the bytes move."""
    d.get(url + "_stack")
    wait(d, lambda d: "ESTABLISHED" in d.find_element(By.ID, "socks").text
         and "192.168.69.100:" in d.find_element(By.ID, "socks").text,
         "the live view shows curl's connection, ESTABLISHED")
    ok("the socket table shows curl's connection: " + [
        line for line in d.find_element(By.ID, "socks").text.splitlines() if "ESTABLISHED" in line][0])
    # Read once per try: the table is redrawn twice a second, and a second
    # read could meet a stale row and come back None.
    seen = []
    wait(d, lambda d: seen.append(bytes_out(d, 7878)) or seen[-1] is not None,
         "the service table shows port 7878")
    first = seen[-1]
    wait(d, lambda d: (bytes_out(d, 7878) or 0) > first, "the bytes sent move without a reload")
    ok(f"bytes out of 7878 moved from {first} to {bytes_out(d, 7878)} without a reload")
    if "per s" not in d.find_element(By.ID, "layers").text:
        fail("the counters have no rates")
    # The neighbour cache: Linux's side of the TAP, learnt by ARP.
    wait(d, lambda d: "192.168.69.100" in d.find_element(By.ID, "nbrs").text,
         "the ARP cache shows Linux's address")
    ok("the ARP cache: " + [
        line for line in d.find_element(By.ID, "nbrs").text.splitlines() if "192.168.69.100" in line][0])
    # The last frames as a ladder: arrows labelled with the download's
    # segments, and new ones come without a reload.
    def arrows(d):
        # In one call: the ladder is redrawn twice a second, faster than a
        # WebDriver round trip per element.
        return d.execute_script(
            "return [...document.querySelectorAll('#lad svg text')]"
            ".map(t => t.textContent).filter(t => t.includes('7878'))")
    wait(d, lambda d: len(arrows(d)) > 5, "the ladder shows the download's segments")
    seen = arrows(d)[-1]
    wait(d, lambda d: arrows(d) and arrows(d)[-1] != seen, "the ladder moves without a reload")
    ok(f"the ladder shows {len(arrows(d))} frames of port 7878, the last: {arrows(d)[-1]}")
    d.save_screenshot(os.path.join(shots, "live.png"))
    d.execute_script("document.querySelector('h2:last-of-type').scrollIntoView()")
    d.save_screenshot(os.path.join(shots, "live-ladder.png"))


def leftovers(root, prefix):
    return [n for n in os.listdir(root) if n.startswith(prefix) or n.startswith(".layernet-upload")]


def errors(d, root, shots):
    """A full disk (507) and a connection cut mid-upload: each shows a
    message on the page, and nothing half-written stays on the server."""
    tmp = tempfile.mkdtemp()
    full = os.path.join(tmp, "fills the disk.bin")
    with open(full, "wb") as f:
        f.write(os.urandom(3 * 1024 * 1024))
    upload(d, full)
    wait(d, lambda d: "fills the disk.bin" in messages(d) and "failed" in messages(d),
         "an upload onto a full disk shows a message")
    said = messages(d).splitlines()[-1]
    if "507" not in said and "Insufficient" not in said:
        fail(f"the full disk's message does not say so: {said!r}")
    ok(f"full disk: {said!r}")
    if leftovers(root, "fills the disk"):
        fail(f"a refused upload left {leftovers(root, 'fills the disk')}")
    ok("nothing half-written left after the 507")
    d.save_screenshot(os.path.join(shots, "errors-full.png"))


def cut(d, root, shots):
    """serve stopped while the page uploads (the script that started it
    passed its pid, and slowed the link so that the upload is still
    going): a message, and nothing half-written left."""
    tmp = tempfile.mkdtemp()
    cut = os.path.join(tmp, "cut short.bin")
    with open(cut, "wb") as f:
        f.write(os.urandom(24 * 1024 * 1024))
    upload(d, cut)
    wait(d, lambda d: d.execute_script(
        "const p=document.querySelector('#msgs progress');return p!==null&&p.value>0"),
        "the upload is under way")
    os.kill(int(os.environ["SERVE_PID"]), signal.SIGTERM)
    wait(d, lambda d: "cut short.bin" in messages(d) and "failed" in messages(d),
         "an upload whose connection was cut shows a message")
    ok(f"connection cut: {messages(d).splitlines()[-1]!r}")
    d.save_screenshot(os.path.join(shots, "errors-cut.png"))
    # serve has gone (the shell script waits for it); its store removes a
    # temporary file on the way out, or at the next start after a crash.
    deadline = time.monotonic() + 30
    while leftovers(root, "cut short") and time.monotonic() < deadline:
        time.sleep(0.2)
    if leftovers(root, "cut short"):
        fail(f"the cut upload left {leftovers(root, 'cut short')}")
    ok("nothing half-written left after the cut")


def main():
    mode, url, root, shots = sys.argv[1:5]
    os.makedirs(shots, exist_ok=True)
    downloads = tempfile.mkdtemp()
    d = browser(downloads)
    # Headless Chromium saves downloads only where it is told, by DevTools.
    d.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    try:
        d.get(url)
        if mode != "live" and d.title != "layernet files":
            fail(f"the listing's title is {d.title!r}")
        if mode == "live":
            live(d, url, shots)
            return
        if mode == "errors":
            errors(d, root, shots)
            return
        if mode == "cut":
            cut(d, root, shots)
            return
        listed = names(d)
        if "seed.txt" not in listed:
            fail(f"seed.txt is not listed: {listed}")
        ok(f"the page lists {len(listed)} files")
        if mode == "read-only":
            if d.find_elements(By.ID, "pick") or d.find_elements(By.CSS_SELECTOR, "button.del"):
                fail("a read-only server's page shows upload or delete controls")
            ok("read-only: no upload or delete controls")
            # Sorting by size, both ways, by a click on the column's head.
            head = d.find_elements(By.CSS_SELECTOR, "#files th")[1]
            head.click()
            up = names(d)
            head.click()
            down = names(d)
            want = ["seed.txt", "mid.bin", "zz big.bin"]
            if up != want or down != want[::-1]:
                fail(f"sorting by size: {up} then {down}, not {want} and back")
            ok(f"sorts by size, both ways: {up}")
            d.save_screenshot(os.path.join(shots, "listing-read-only.png"))
            return

        # A file with a space and a non-ASCII letter in its name.
        name = "Grüße aus layernet.bin"
        data = os.urandom(3 * 1024 * 1024 + 17)
        src = os.path.join(tempfile.mkdtemp(), name)
        with open(src, "wb") as f:
            f.write(data)

        if mode == "auth":
            if not d.find_elements(By.ID, "user"):
                fail("with --auth the page has no credential fields")
            upload(d, src)
            wait(d, lambda d: "failed: 401" in messages(d), "an upload without credentials shows 401")
            ok(f"without credentials: {messages(d)!r}")
            if os.path.exists(os.path.join(root, name)):
                fail("an upload refused with 401 left the file")
            d.find_element(By.ID, "user").send_keys("user")
            d.find_element(By.ID, "pass").send_keys("pass")

        upload(d, src)
        took = wait(d, lambda d: name in names(d), "the uploaded file is listed (the table is fetched again)")
        ok(f"uploaded {len(data)} bytes through the file input, listed after {took:.1f} s")
        with open(os.path.join(root, name), "rb") as f:
            if hashlib.sha256(f.read()).digest() != hashlib.sha256(data).digest():
                fail("the stored file differs from the one uploaded")
        ok("the stored bytes are the uploaded ones")
        d.save_screenshot(os.path.join(shots, f"listing-{mode}.png"))

        # Download by its link, as a person clicks it.
        link = [a for a in d.find_elements(By.CSS_SELECTOR, "#files tbody td:first-child a")
                if a.text == name][0]
        link.click()
        got = os.path.join(downloads, name)
        wait(d, lambda _: os.path.exists(got) and os.path.getsize(got) == len(data),
             f"the download finishes (in the folder: {os.listdir(downloads)})")
        with open(got, "rb") as f:
            if f.read() != data:
                fail("the downloaded bytes differ")
        ok("downloaded by the link: the same bytes")

        # Delete, after the confirmation.
        row = link.find_element(By.XPATH, "./ancestor::tr")
        row.find_element(By.CSS_SELECTOR, "button.del").click()
        alert = WebDriverWait(d, WAIT).until(lambda d: d.switch_to.alert)
        if name not in alert.text:
            fail(f"the confirmation does not name the file: {alert.text!r}")
        alert.accept()
        wait(d, lambda d: name not in names(d), "the deleted row goes")
        if os.path.exists(os.path.join(root, name)):
            fail("the file is still on the server's disk after the delete")
        ok("deleted after the confirmation: gone from the page and the disk")

        # An upload over the server's limit: the page says why, and nothing
        # is left behind.
        big = os.path.join(os.path.dirname(src), "too big.bin")
        with open(big, "wb") as f:
            f.write(os.urandom(5 * 1024 * 1024))
        upload(d, big)
        wait(d, lambda d: "too big.bin" in messages(d) and "failed" in messages(d),
             "an upload over --max-upload shows a message")
        ok(f"over the limit: {messages(d).splitlines()[-1]!r}")
        left = [n for n in os.listdir(root) if n.startswith("too big") or n.startswith(".layernet-upload")]
        if left:
            fail(f"a refused upload left {left}")
        ok("nothing half-written left")
        d.save_screenshot(os.path.join(shots, f"errors-{mode}.png"))
    finally:
        d.quit()


if __name__ == "__main__":
    main()
