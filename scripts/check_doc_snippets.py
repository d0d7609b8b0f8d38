#!/usr/bin/env python3
"""Compiles every ```cpp block of README.md and docs/*.md (g++ -std=c++20 -fsyntax-only).

Usage: python3 scripts/check_doc_snippets.py [--cxx g++] [--keep DIR] [FILE.md ...]

The convention
==============
A block is checked according to a marker: an HTML comment (invisible when rendered) on the
nearest non-blank line above its opening fence.

    <!-- snippet: MODE -->
    <!-- snippet: MODE; given: DECLARATIONS -->
    <!-- snippet: skip (REASON) -->
    <!-- snippet: excerpt PATH -->

MODE is one of:

  top       (also: no marker) namespace-scope code -- includes, functions, classes. Compiled
            after the common prelude: every public header (include/asyncfs/**.hpp), fmt and
            the usual standard headers.
  wrap      statements: put in a function body after the prelude. The function is a coroutine
            (asyncfs::Task<void>) when the block uses co_await. #include lines are hoisted.
  continue  the block goes on from the previous ```cpp block of the same file, with its mode,
            and sees its declarations (the two are compiled as one piece).
  tu        a complete translation unit, compiled exactly as written, nothing added.
  excerpt PATH
            the block is copied from PATH (relative to the repository): its non-blank lines
            must appear there in order and contiguous, ignoring indentation; a line "// ..."
            stands for omitted lines. PATH itself is compiled (and run) by the build.
  skip (REASON)
            not compiled; the reason is required and printed (pseudo-code, a CMake file that
            was labelled cpp, output of a program...).

`given: DECLARATIONS` (top, wrap, continue) declares, at namespace scope before the block,
the names its text assumes without showing them: `given: std::string url1, url2;` or
`given: namespace fc = asyncfs::firecrest; std::string system;`.

Blocks tagged ```sh, ```cmake, ``` (no language), ... are never compiled.

Mechanics: the top/wrap/continue blocks of all files become one translation unit, each group
in its own namespace, with #line directives so that g++ reports errors at the Markdown file
and line. `tu` blocks are compiled as files of their own, in parallel with it. Public API
only: -Iinclude (not -I.), so a block that needs an internal header fails.

Files in PENDING below are checked but their failures only warn: they are being written in
other branches and get their markers when merged. Remove a file from it once it passes.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import glob
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Being written on other branches at the time this script was added; see the docstring.
PENDING: set[str] = set()

STD_HEADERS = [
    "algorithm", "chrono", "cstdint", "cstdio", "exception", "filesystem", "fstream",
    "functional", "iostream", "map", "memory", "mutex", "optional", "set", "sstream",
    "stdexcept", "string", "string_view", "thread", "utility", "vector",
]

MARKER = re.compile(r"^\s*<!--\s*snippet:\s*(?P<body>.*?)\s*-->\s*$")
FENCE_OPEN = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)\s*(?P<lang>[^\s`]*)")
CXX_LANGS = {"cpp", "c++", "cxx"}
MODES = {"top", "wrap", "continue", "tu", "excerpt", "skip"}


@dataclasses.dataclass
class Block:
    path: str  # relative to ROOT
    line: int  # 1-based line of the first code line
    code: list[str]
    mode: str = "top"
    arg: str = ""  # skip reason or excerpt path
    given: str = ""

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


class MarkerError(Exception):
    pass


def parse_marker(body: str) -> tuple[str, str, str]:
    """'wrap; given: int x;' -> ('wrap', '', 'int x;')."""
    given = ""
    m = re.search(r"(?:^|;)\s*given:\s*(?P<decls>.*)$", body)
    if m:
        given = m.group("decls").strip()
        body = body[: m.start()].strip()
    m = re.match(r"^(?P<mode>\w+)\s*(?P<arg>.*)$", body)
    if not m or m.group("mode") not in MODES:
        raise MarkerError(f"unknown snippet mode in '{body}' (one of: {', '.join(sorted(MODES))})")
    mode, arg = m.group("mode"), m.group("arg").strip()
    if mode == "skip":
        r = re.match(r"^\((?P<reason>.*\S.*)\)$", arg)
        if not r:
            raise MarkerError("skip needs a reason: <!-- snippet: skip (why) -->")
        arg = r.group("reason").strip()
    elif mode == "excerpt":
        if not arg:
            raise MarkerError("excerpt needs a path: <!-- snippet: excerpt examples/x.cpp -->")
    elif arg:
        raise MarkerError(f"'{mode}' takes no argument (got '{arg}')")
    if given and mode not in ("top", "wrap", "continue"):
        raise MarkerError(f"given: is for top, wrap and continue, not {mode}")
    return mode, arg, given


def extract(path: str) -> list[Block]:
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        lines = f.read().split("\n")
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE_OPEN.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = m.group("indent"), m.group("fence"), m.group("lang").lower()
        start = i
        i += 1
        body: list[str] = []
        while i < len(lines) and not lines[i].strip().startswith(fence):
            line = lines[i]
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            i += 1
        i += 1  # the closing fence
        if lang not in CXX_LANGS:
            continue
        block = Block(path, start + 2, body)
        j = start - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        if j >= 0:
            mm = MARKER.match(lines[j])
            if mm:
                try:
                    block.mode, block.arg, block.given = parse_marker(mm.group("body"))
                except MarkerError as e:
                    raise MarkerError(f"{path}:{j + 1}: {e}") from None
        blocks.append(block)
    return blocks


def is_include(line: str) -> bool:
    return re.match(r"^\s*#\s*include\b", line) is not None


def prelude() -> list[str]:
    out = ["// generated by scripts/check_doc_snippets.py"]
    for h in sorted(glob.glob(os.path.join(ROOT, "include", "asyncfs", "**", "*.hpp"),
                          recursive=True)):
        out.append(f"#include <{os.path.relpath(h, os.path.join(ROOT, 'include'))}>")
    out.append("#include <fmt/format.h>")
    out += [f"#include <{h}>" for h in STD_HEADERS]
    return out


def quoted(path: str) -> str:
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'


def group_blocks(blocks: list[Block]) -> list[list[Block]]:
    """Joins each `continue` block to the group before it (same file)."""
    groups: list[list[Block]] = []
    for b in blocks:
        if b.mode == "continue":
            if not groups or groups[-1][0].path != b.path:
                raise MarkerError(f"{b.where}: 'continue' needs an earlier cpp block in the file")
            groups[-1].append(b)
        else:
            groups.append([b])
    return groups


def combined_source(groups: list[list[Block]]) -> str:
    head = prelude()
    body: list[str] = []
    for n, group in enumerate(groups):
        mode = group[0].mode
        code_lines: list[tuple[Block, int, str]] = []  # (block, md line, text)
        for b in group:
            for k, text in enumerate(b.code):
                if is_include(text):
                    head.append(f"#line {b.line + k} {quoted(b.path)}")
                    head.append(text)
                else:
                    code_lines.append((b, b.line + k, text))
        body.append(f"#line 1 {quoted('<snippet ' + group[0].where + '>')}")
        body.append(f"namespace snippet_{n} {{")
        for b in group:
            if b.given:
                body.append(f"#line {b.line - 1} {quoted(b.path)}")
                body.append(b.given if b.given.rstrip().endswith(("}", ";")) else b.given + ";")
        if mode == "wrap":
            coroutine = any(re.search(r"\bco_(await|return|yield)\b", t.split("//")[0])
                            for _, _, t in code_lines)
            body.append("[[maybe_unused]] asyncfs::Task<void> snippet() {" if coroutine else
                        "[[maybe_unused]] void snippet() {")
        last = None
        for b, line, text in code_lines:
            if last is None or line != last + 1:
                body.append(f"#line {line} {quoted(b.path)}")
            body.append(text)
            last = line
        if mode == "wrap":
            body.append("}")
        body.append(f"}}  // namespace snippet_{n}")
    return "\n".join(head + body) + "\n"


def compile_source(cxx: str, source: str, name: str, keep: str | None) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory() as tmp:
        directory = keep or tmp
        os.makedirs(directory, exist_ok=True)
        file = os.path.join(directory, name)
        with open(file, "w", encoding="utf-8") as f:
            f.write(source)
        cmd = [cxx, "-std=c++20", "-fsyntax-only", "-fmax-errors=40", "-Wall", "-Wextra",
               "-Wno-unused-variable", "-Wno-unused-but-set-variable", "-Wno-unused-parameter",
               "-Wno-unused-function", "-Wno-unused-local-typedefs", "-Wno-subobject-linkage",
               "-Wno-missing-field-initializers", "-Iinclude", "-x", "c++",
               file]
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        return r.returncode == 0, r.stdout + r.stderr


def normalize(lines: list[str]) -> list[str]:
    return [" ".join(l.split()) for l in lines if l.strip()]


def check_excerpt(b: Block) -> str | None:
    target = os.path.join(ROOT, b.arg)
    if not os.path.isfile(target):
        return f"{b.where}: excerpt of {b.arg}: no such file"
    with open(target, encoding="utf-8") as f:
        source = normalize(f.read().split("\n"))
    chunks: list[list[str]] = [[]]
    for line in normalize(b.code):
        if line in ("// ...", "..."):
            chunks.append([])
        else:
            chunks[-1].append(line)
    pos = 0
    for chunk in (c for c in chunks if c):
        found = next((i for i in range(pos, len(source) - len(chunk) + 1)
                      if source[i:i + len(chunk)] == chunk), None)
        if found is None:
            first = chunk[0] if chunk else ""
            return (f"{b.where}: not (or no longer) in {b.arg}, in this order: the part starting "
                    f"'{first}'")
        pos = found + len(chunk)
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", help="Markdown files (default: README.md docs/*.md)")
    ap.add_argument("--cxx", default=os.environ.get("CXX", "g++"))
    ap.add_argument("--keep", help="write the generated sources to this directory")
    args = ap.parse_args()
    started = time.monotonic()
    files = args.files or ["README.md"] + sorted(
        os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))
    files = [os.path.relpath(os.path.abspath(f), ROOT) for f in files]

    problems: list[str] = []
    warnings: list[str] = []
    blocks: list[Block] = []
    for f in files:
        try:
            blocks += extract(f)
        except MarkerError as e:
            (warnings if f in PENDING else problems).append(str(e))

    counts = {"compiled": 0, "excerpt": 0, "skip": 0}
    for b in blocks:
        if b.mode == "skip":
            counts["skip"] += 1
            print(f"skip      {b.where}: {b.arg}")
        elif b.mode == "excerpt":
            counts["excerpt"] += 1
            err = check_excerpt(b)
            if err:
                (warnings if b.path in PENDING else problems).append(err)
        else:
            counts["compiled"] += 1

    # One combined unit for the checked files, one for the pending ones, one per `tu` block.
    jobs: list[tuple[str, str, bool]] = []  # (name, source, pending)
    for pending in (False, True):
        chosen = [b for b in blocks if (b.path in PENDING) == pending
                  and b.mode in ("top", "wrap", "continue")]
        try:
            groups = group_blocks(chosen)
        except MarkerError as e:
            (warnings if pending else problems).append(str(e))
            continue
        if groups:
            jobs.append((f"snippets{'_pending' if pending else ''}.cpp", combined_source(groups),
                         pending))
    for n, b in enumerate(x for x in blocks if x.mode == "tu"):
        source = f"#line {b.line} {quoted(b.path)}\n" + "\n".join(b.code) + "\n"
        jobs.append((f"snippet_tu_{n}.cpp", source, b.path in PENDING))

    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(lambda j: compile_source(args.cxx, j[1], j[0], args.keep), jobs))
    for (name, _, pending), (ok, output) in zip(jobs, results):
        if output.strip():
            print(output.rstrip())
        if not ok:
            message = f"{name}: g++ failed (errors above, at their Markdown lines)"
            (warnings if pending else problems).append(message)

    elapsed = time.monotonic() - started
    print(f"\n{len(blocks)} cpp blocks in {len(files)} files: {counts['compiled']} compiled "
          f"({len(jobs)} g++ runs), {counts['excerpt']} excerpts checked, {counts['skip']} "
          f"skipped; {elapsed:.1f} s")
    for w in warnings:
        print(f"warning (pending file, see PENDING in {os.path.basename(__file__)}): {w}")
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    if problems:
        print("Mark fragments as described at the top of scripts/check_doc_snippets.py.",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
