"""Runs every Swift check and prints `swift-check: N passed, N failed`.

    python -m swiftcheck --ios ios --generated target/bindings/swift/Countersign.swift

Checks, each counted once:
- syntax of the generated bindings (with the two documented allowances);
- the API read from them is complete enough to check against (sanity);
- syntax of every hand-written file (Package.swift, Sources, Tests), strict;
- the cross-check of every hand-written file against the generated API;
- every fixture in checker-fixtures/broken is rejected (for the reason its
  `// expect:` line names), every fixture in checker-fixtures/good passes;
- `bash -n` of build-xcframework.sh.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from .crosscheck import Checker
from .model import Model, read_declarations
from .syntax import SwiftFile, parse, syntax_issues

EXPECT = re.compile(r"^//\s*expect:\s*(.+?)\s*$", re.M)


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def result(self, ok: bool, name: str, details: list[str] = ()) -> None:
        if ok:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name}")
        for d in details:
            print(f"       {d}")


def rel(path: Path, base: Path) -> str:
    try:
        return os.path.relpath(path, base)
    except ValueError:
        return str(path)


def hand_written_files(ios: Path) -> list[Path]:
    files = [ios / "Package.swift"]
    for top in ("Sources", "Tests"):
        for p in sorted((ios / top).rglob("*.swift")):
            if "Generated" in p.relative_to(ios).parts:
                continue  # the bindings copied in by build-xcframework.sh
            files.append(p)
    return [p for p in files if p.exists()]


def api_sanity(api: Model) -> list[str]:
    problems = []
    auth = api.types.get("Authenticator")
    if auth is None or not any(f.is_static for f in auth.methods.get("open", [])):
        problems.append("no `Authenticator.open(...)` found")
    for proto in ("PlatformKeystore", "Clock", "CodeListener"):
        t = api.types.get(proto)
        if t is None or t.kind != "protocol" or not t.methods:
            problems.append(f"protocol `{proto}` or its requirements not found")
    for enum in ("AuthError", "KeystoreError"):
        t = api.types.get(enum)
        if t is None or t.kind != "enum" or not t.cases:
            problems.append(f"enum `{enum}` or its cases not found")
    if "ffiPanicProbe" not in api.functions:
        problems.append("free function `ffiPanicProbe` not found")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="swiftcheck")
    ap.add_argument("--ios", required=True, type=Path, help="the ios/ folder")
    ap.add_argument("--generated", required=True, type=Path, help="generated Countersign.swift")
    ap.add_argument("--base", type=Path, default=Path.cwd(), help="paths in messages are relative to this")
    args = ap.parse_args(argv)
    started = time.monotonic()
    report = Report()
    base = args.base

    # Generated bindings.
    gen_path = args.generated
    if not gen_path.exists():
        report.result(False, "generated bindings present", [f"{gen_path} does not exist (run tools/bindgen.sh)"])
        print(f"swift-check: {report.passed} passed, {report.failed} failed")
        return 1
    gen = parse(rel(gen_path, base), gen_path.read_text(encoding="utf-8"), generated=True)
    issues = syntax_issues(gen)
    report.result(
        not issues,
        f"syntax (generated, {gen.blanked} allowance(s) blanked) {gen.path}",
        [str(i) for i in issues],
    )
    api = read_declarations([gen], public_only=True)
    problems = api_sanity(api)
    n_members = sum(len(t.methods) + len(t.cases) + len(t.fields) for t in api.types.values())
    report.result(
        not problems,
        f"generated API read: {len(api.types)} types, {n_members} members, {len(api.functions)} free function(s)",
        problems,
    )

    # Hand-written package files.
    ios = args.ios
    hand_files: list[SwiftFile] = []
    for p in hand_written_files(ios):
        f = parse(rel(p, base), p.read_text(encoding="utf-8"))
        hand_files.append(f)
        issues = syntax_issues(f)
        report.result(not issues, f"syntax {f.path}", [str(i) for i in issues])
    hand = read_declarations(hand_files, public_only=False)
    checker = Checker(api, hand)
    totals: dict[str, int] = {}
    for f in hand_files:
        issues = checker.check_file(f)
        for k, v in checker.stats.items():
            totals[k] = totals.get(k, 0) + v
        counted = ", ".join(f"{k} {v}" for k, v in sorted(checker.stats.items()))
        report.result(not issues, f"api    {f.path}" + (f" ({counted})" if counted else ""), [str(i) for i in issues])
    print("       generated-API uses verified: " + ", ".join(f"{k} {v}" for k, v in sorted(totals.items())))

    # Fixtures: prove the checker rejects what it should.
    fixtures = ios / "checker-fixtures"
    for kind in ("broken", "good"):
        for p in sorted((fixtures / kind).glob("*.swift")):
            text = p.read_text(encoding="utf-8")
            f = parse(rel(p, base), text)
            found = [str(i) for i in syntax_issues(f)]
            if not found:
                fixture_checker = Checker(api, read_declarations([f], public_only=False))
                found = [str(i) for i in fixture_checker.check_file(f)]
            if kind == "good":
                report.result(not found, f"fixture accepted {f.path}", found)
                continue
            expects = EXPECT.findall(text)
            if not found:
                report.result(False, f"fixture rejected {f.path}", ["the checker accepted a broken fixture"])
            elif expects and not all(any(e in msg for msg in found) for e in expects):
                report.result(
                    False,
                    f"fixture rejected {f.path}",
                    [f"expected a message containing {e!r}" for e in expects] + ["got: " + m for m in found],
                )
            else:
                report.result(True, f"fixture rejected {f.path}", ["(" + found[0].split(": ", 1)[-1] + ")"])

    # The Mac build script must at least be valid bash.
    script = ios / "build-xcframework.sh"
    r = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    report.result(r.returncode == 0, f"bash -n {rel(script, base)}", r.stderr.strip().splitlines())

    print(f"({time.monotonic() - started:.1f} s)")
    print(f"swift-check: {report.passed} passed, {report.failed} failed")
    return 0 if report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
