"""A short human name for a browser from its User-Agent ("Firefox on Windows").

Enough to tell one's own sessions apart; not a fingerprinting engine.
"""
from __future__ import annotations

import re

# Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
_BROWSERS = [
    ("Edge", re.compile(r"Edg(e|A|iOS)?/")),
    ("Opera", re.compile(r"OPR/|Opera")),
    ("Firefox", re.compile(r"Firefox/|FxiOS/")),
    ("Chrome", re.compile(r"Chrome/|CriOS/|Chromium/")),
    ("Safari", re.compile(r"Safari/")),
    ("curl", re.compile(r"^curl/")),
    ("Python", re.compile(r"python-requests|python-urllib|^Python")),
]
_SYSTEMS = [
    ("iOS", re.compile(r"iPhone|iPad|iPod")),
    ("Android", re.compile(r"Android")),
    ("Windows", re.compile(r"Windows")),
    ("macOS", re.compile(r"Mac OS X|Macintosh")),
    ("ChromeOS", re.compile(r"CrOS")),
    ("Linux", re.compile(r"Linux|X11")),
]


def describe(user_agent: str | None) -> str:
    ua = user_agent or ""
    if not ua.strip():
        return "Unknown device"
    browser = next((name for name, pattern in _BROWSERS if pattern.search(ua)), "Unknown browser")
    system = next((name for name, pattern in _SYSTEMS if pattern.search(ua)), None)
    if "HeadlessChrome" in ua:
        browser = "Headless Chrome"
    return f"{browser} on {system}" if system else browser
