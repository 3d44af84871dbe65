"""axe-core, Deque's accessibility engine (vendored: tests/web/vendor/axe-core/), run in a
Playwright page: violations(page) lists what it finds, worst first, at or above an impact.

The script is evaluated through Playwright (the DevTools protocol), not added as a <script>:
the site's Content Security Policy allows only its own scripts, and must stay so for the test
to see the page as a visitor does."""

from functools import cache
from pathlib import Path

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
IMPACTS = ("minor", "moderate", "serious", "critical")


@cache
def axe_source():
    return AXE_JS.read_text()


def violations(page, min_impact="serious", rules_off=()):
    """axe's violations on the page as it is now, of min_impact or worse, worst first: one dict
    per rule broken, {"id", "impact", "help", "nodes": [the CSS selector of each element]}.
    rules_off: ids of rules not run (a test says why it switches one off)."""
    if not page.evaluate("() => Boolean(window.axe)"):
        page.evaluate(axe_source())
    options = {"rules": {rule: {"enabled": False} for rule in rules_off}}
    found = page.evaluate("(options) => axe.run(document, options).then((results) => results.violations)", options)
    worst = IMPACTS.index(min_impact)
    kept = [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "nodes": [" ".join(map(str, node["target"])) for node in violation["nodes"]],
        }
        for violation in found
        if IMPACTS.index(violation["impact"] or "minor") >= worst
    ]
    return sorted(kept, key=lambda violation: -IMPACTS.index(violation["impact"]))
