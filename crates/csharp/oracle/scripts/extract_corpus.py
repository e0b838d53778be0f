#!/usr/bin/env python3
"""Extract every distinct policy expression from ../shared/corpus/{seed,dev}.

Bracket scanner that understands C# string/char literals (regular, verbatim, interpolated),
skips XML comments, unescapes XML entities, and replaces named values {{name}} by plausible
literals. Writes JSON lines {"expr", "sources": [...], "named_values": [...]} to stdout.
Run once; the committed case files (cases/corpus-*.json) are built from its output by
scripts/build_corpus_cases.py.
"""
import html, json, os, re, sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../../../../shared/corpus")


def skip_string(s, i):
    """s[i] starts a literal (", @", $", $@", @$", '); return the index after it."""
    verbatim = False
    interp = False
    j = i
    while s[j] in "@$":
        if s[j] == "@":
            verbatim = True
        else:
            interp = True
        j += 1
    q = s[j]
    j += 1
    if q == "'":
        while j < len(s):
            if s[j] == "\\":
                j += 2
                continue
            if s[j] == "'":
                return j + 1
            j += 1
        return j
    while j < len(s):
        c = s[j]
        if verbatim and c == '"':
            if j + 1 < len(s) and s[j + 1] == '"':
                j += 2
                continue
            return j + 1
        if not verbatim and c == "\\":
            j += 2
            continue
        if not verbatim and c == '"':
            return j + 1
        if interp and c == "{":
            if j + 1 < len(s) and s[j + 1] == "{":
                j += 2
                continue
            j = skip_code(s, j + 1, "}")
            continue
        j += 1
    return j


def starts_literal(s, i):
    c = s[i]
    if c in "\"'":
        return True
    if c in "@$":
        k = i
        while k < len(s) and s[k] in "@$" and k - i < 2:
            k += 1
        return k < len(s) and s[k] == '"' and k > i
    return False


def skip_code(s, i, close):
    """Scan C# code from i until the matching close bracket; return index after it."""
    stack = [close]
    j = i
    pairs = {"(": ")", "{": "}", "[": "]"}
    while j < len(s):
        c = s[j]
        if starts_literal(s, j):
            j = skip_string(s, j)
            continue
        if c == "/" and s[j:j + 2] == "//":
            e = s.find("\n", j)
            j = len(s) if e < 0 else e
            continue
        if c == "/" and s[j:j + 2] == "/*":
            e = s.find("*/", j + 2)
            j = len(s) if e < 0 else e + 2
            continue
        if c in pairs:
            stack.append(pairs[c])
        elif c in ")}]":
            if stack and stack[-1] == c:
                stack.pop()
                if not stack:
                    return j + 1
        j += 1
    return j


def expressions(text):
    text = re.sub(r"<!--.*?-->", lambda m: " " * len(m.group(0)), text, flags=re.S)
    i = 0
    while True:
        m = re.compile(r"@[({]").search(text, i)
        if not m:
            return
        start = m.start()
        close = ")" if text[start + 1] == "(" else "}"
        end = skip_code(text, start + 2, close)
        expr = text[start:end]
        if "&quot;" in expr or "&lt;" in expr or "&gt;" in expr or "&amp;" in expr or "&apos;" in expr:
            expr = html.unescape(expr)
        yield expr
        i = end


def main():
    seen = {}
    order = []
    for sub in ("seed", "dev"):
        base = os.path.join(ROOT, sub)
        for dirpath, _, files in sorted(os.walk(base)):
            for f in sorted(files):
                if not f.endswith(".xml"):
                    continue
                p = os.path.join(dirpath, f)
                rel = os.path.relpath(p, ROOT)
                with open(p, encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
                for e in expressions(text):
                    if e not in seen:
                        seen[e] = []
                        order.append(e)
                    if rel not in seen[e]:
                        seen[e].append(rel)
    for e in order:
        print(json.dumps({"expr": e, "sources": seen[e],
                          "named_values": sorted(set(re.findall(r"\{\{([^{}]+)\}\}", e)))}))


if __name__ == "__main__":
    main()
