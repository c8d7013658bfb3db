"""axe-core (Deque's accessibility engine, the one behind most checkers), from npm
(tests/webext/package.json, installed by scripts/test-deps.sh), run inside a page of the
extension.

The engine is evaluated through the DevTools protocol (Playwright's `evaluate`), which the
extension pages' content security policy does not govern: a `<script>` tag would be refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parents[1] / "webext" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")

_RUN = """async () => {
  const r = await axe.run(document, { resultTypes: ['violations'] });
  return r.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
    count: v.nodes.length,
  }));
}"""


def violations(page: Any) -> list[dict[str, Any]]:
    """Every axe-core violation on the page as it is now (all rules, WCAG 2.x A and AA and
    best practices), each with its impact and up to three of the elements at fault."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    return list(page.evaluate(_RUN))


def blocking(page: Any, view: str) -> list[str]:
    """The serious and critical violations, one line each, named by the view they were found
    in: what a test asserts is empty."""
    return [
        f"{view}: {v['id']} ({v['impact']}, {v['count']} elements): {v['help']}; "
        + " | ".join(v["nodes"])
        for v in violations(page)
        if v["impact"] in BLOCKING
    ]
