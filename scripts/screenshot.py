"""Screenshot a cockpit page in headless Chromium at wall-screen size (for the README and reviews).

    python scripts/screenshot.py http://127.0.0.1:8050/wall/620100 docs/img/wall.png [--size 1920x1080] [--wait 8]

Needs Debian's chromium and chromium-driver and selenium (installed with the test extras).
"""

from __future__ import annotations

import argparse
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("out")
    parser.add_argument("--size", default="1920x1080", help="WIDTHxHEIGHT of the page viewport")
    parser.add_argument("--wait", type=float, default=8.0, help="seconds to let live panels fill in")
    args = parser.parse_args()
    width, height = (int(x) for x in args.size.split("x"))
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options)
    try:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        driver.get(args.url)
        time.sleep(args.wait)  # a screenshot tool, not a test: it waits for live data to arrive
        driver.save_screenshot(args.out)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
