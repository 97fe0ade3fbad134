"""What every fuzzed answer must be, checked by a `Verdict`:

- an HTTP status below 500 with a JSON body;
- errors that each carry `extensions.code` from the contract — and never INTERNAL, since
  bad input deserves a clear error — in Chinese first, then English (error_language);
- a refusal wherever the value is certainly invalid (NaN, non-numbers, out-of-range, wrong
  enum, wrong token, stale version ...);
- nothing half-written: the state read before a refused request (fuzz_state) is exactly the
  state after it.
"""

from __future__ import annotations

from hypothesis import note

from support.error_language import language_problem
from support.fuzz_requests import FAILURES, FIGURES, Answer
from support.reference_props import CONTRACT_CODES


class Verdict:
    """The problems of one answer (and of the state around it)."""

    def __init__(self, what: str, answer: Answer, request: bytes) -> None:
        self.what, self.answer, self.request = what, answer, request
        self.problems: list[str] = []

    def fail(self, message: str) -> None:
        self.problems.append(message)

    def clear(self, must_refuse: bool, allowed: set[str] | None = None) -> bool:
        """Status < 500, a JSON body, coded errors (never INTERNAL); refused when it must be.
        True when the operation was refused."""
        a = self.answer
        FIGURES["answers checked"] += 1
        if a.status >= 500:
            FIGURES["5xx"] += 1
            self.fail(f"HTTP {a.status}: {a.text[:300]}")
            return True
        if not isinstance(a.body, dict) or not ("data" in a.body or "errors" in a.body):
            self.fail(f"not a GraphQL JSON answer (HTTP {a.status}): {a.text[:300]}")
            return True
        for error in a.errors:
            code = (error.get("extensions") or {}).get("code")
            FIGURES[f"code {code}"] += 1
            if code not in CONTRACT_CODES:
                FIGURES["uncoded errors"] += 1
                self.fail(f"error without a contract code: {error}")
            elif code == "INTERNAL":
                FIGURES["INTERNAL"] += 1
                self.fail(f"INTERNAL for bad input: {error}")
            elif allowed is not None and code not in allowed:
                self.fail(f"code {code}, expected one of {sorted(allowed)}: {error}")
            if (problem := language_problem(error)) is not None:
                FIGURES["not bilingual"] += 1
                self.fail(f"not bilingual: {problem}")
        if a.status >= 400 and not a.errors:
            self.fail(f"HTTP {a.status} without errors: {a.text[:300]}")
        refused = bool(a.errors)
        if must_refuse and not refused:
            FIGURES["accepted invalid"] += 1
            self.fail(f"accepted a certainly invalid value: {a.text[:300]}")
        FIGURES["refusals" if refused else "acceptances"] += 1
        return refused

    def unchanged(self, label: str, before, after) -> None:
        FIGURES["states compared"] += 1
        if before != after:
            FIGURES["half-written"] += 1
            self.fail(f"half-written: {label} changed by a refused request:\n  before {before!r:.600}\n"
                      f"  after  {after!r:.600}")

    def done(self) -> None:
        if self.problems:
            FIGURES["failures"] += 1
            if len(FAILURES) < 20:
                FAILURES.append({"what": self.what, "request": excerpt(self.request),
                                 "status": self.answer.status, "answer": self.answer.text[:1000],
                                 "problems": self.problems[:10]})
        note(f"{self.what}\nrequest {excerpt(self.request)}\nanswer HTTP {self.answer.status} {self.answer.text[:1000]}")
        assert not self.problems, "\n".join(self.problems)


def excerpt(body: bytes, keep: int = 1500) -> str:
    """A request body for a report: whole, or its head and tail around the elided middle."""
    text = body.decode("latin-1")
    return text if len(text) <= 2 * keep else f"{text[:keep]} …[{len(text) - 2 * keep} bytes]… {text[-keep:]}"
