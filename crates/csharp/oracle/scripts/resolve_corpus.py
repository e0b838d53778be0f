#!/usr/bin/env python3
"""Print the corpus expressions the oracle's corpus cases refer to, as JSON lines
{"sha256", "expr"}: every distinct expression of ../shared/corpus (extract_corpus.py), named
values replaced as build_corpus_cases.py does. The corpus is third-party data, so the case
files hold only these hashes and the tests read the texts from the corpus here.
Usage: resolve_corpus.py [CORPUS_ROOT]
"""
import hashlib, importlib.util, json, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    extract = load("extract_corpus")
    build = load("build_corpus_cases")
    if len(sys.argv) > 1:
        extract.ROOT = sys.argv[1]
    if not os.path.isdir(extract.ROOT):
        sys.exit(f"corpus not found at {extract.ROOT}")
    lines = []
    real_stdout = sys.stdout
    class Capture:
        def write(self, s):
            lines.append(s)
        def flush(self):
            pass
    sys.stdout = Capture()
    try:
        extract.main()
    finally:
        sys.stdout = real_stdout
    for row in "".join(lines).splitlines():
        if not row.strip():
            continue
        expr = build.substitute_named_values(json.loads(row)["expr"])
        print(json.dumps({"sha256": hashlib.sha256(expr.encode("utf-8")).hexdigest(), "expr": expr}))


if __name__ == "__main__":
    main()
