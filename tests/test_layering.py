#!/usr/bin/env python3
"""test_layering.py: the architecture is enforced by the build (cmake/layers.cmake), and this test shows it.

1. The layers and who may include whom, written out below (ALLOWED), must be exactly what the build gives each
   layer's compile (its -I build/layers/<layer> directories): a new dependency is a deliberate edit here too.
2. For every layer, a planted include of one header from each layer it may NOT see fails to preprocess with that
   layer's real compile command ("No such file"), and an include of its own header succeeds.

Usage: test_layering.py BUILD_DIR   (reads BUILD_DIR/compile_commands.json)
"""
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

# layer -> the layers it depends on directly (transitive closure taken below); mirrors the DEPENDS lists
ALLOWED = {
    "common": [],
    "config": ["common"],
    "instrument": ["common"],
    "model": ["config", "instrument"],
    "registry": ["model", "config"],
    "data": ["common"],
    "metrics": ["common"],
    "train": ["registry", "data", "metrics", "instrument"],
    "imports": ["train"],
    "suite": ["registry", "data", "metrics"],
    "profiling": ["train", "instrument"],
    "reports": ["metrics", "registry", "data"],
    "variants": ["registry"],
    "cli": ["suite", "profiling", "reports", "train", "imports", "data"],
}


def closure(layer):
    seen, todo = set(), [layer]
    while todo:
        x = todo.pop()
        if x not in seen:
            seen.add(x)
            todo += ALLOWED[x]
    return seen


def main():
    build = sys.argv[1]
    root = os.path.join(build, "layers")
    cmds = json.load(open(os.path.join(build, "compile_commands.json")))
    by_layer = {}
    for c in cmds:
        m = re.search(r"-o \S*CMakeFiles/skipbench_([a-z_]+)\.dir/", c["command"])
        if m and c["file"].endswith(".cpp") and m.group(1) in ALLOWED:
            by_layer.setdefault(m.group(1), c)
    failures = []
    missing = set(ALLOWED) - set(by_layer)
    if missing:
        failures.append(f"no compile command for layers {sorted(missing)} (is the build configured?)")
    headers = {}  # layer -> one header path relative to its include root
    for layer in ALLOWED:
        for dirpath, _, files in os.walk(os.path.join(root, layer)):
            for f in sorted(files):
                if f.endswith(".h"):
                    headers.setdefault(layer, os.path.relpath(os.path.join(dirpath, f), os.path.join(root, layer)))
    with tempfile.TemporaryDirectory() as tmp:
        probe = os.path.join(tmp, "probe.cpp")
        for layer, c in sorted(by_layer.items()):
            args = shlex.split(c["command"])
            seen_dirs = {os.path.basename(a[2:].rstrip("/")) for a in args
                         if a.startswith("-I") and os.path.dirname(a[2:].rstrip("/")) == os.path.abspath(root)}
            if seen_dirs != closure(layer):
                failures.append(f"{layer}: the build lets it include {sorted(seen_dirs)}, ALLOWED says "
                                f"{sorted(closure(layer))}")
            # the compile command, preprocessing a probe instead (no PCH, no object)
            base, skip = [], False
            for a in args:
                if skip:
                    skip = False
                    continue
                if a in ("-o", "-c", "-include"):
                    skip = True
                    continue
                if a == "-Winvalid-pch":
                    continue
                base.append(a)
            for other, h in sorted(headers.items()):
                should_see = other in closure(layer)
                if other != layer and should_see:
                    continue  # positive case: the layer's own header is enough (torch-heavy headers are slow)
                with open(probe, "w") as f:
                    f.write(f'#include "{h}"\n')
                r = subprocess.run(base + ["-E", "-x", "c++", probe, "-o", os.devnull], cwd=c["directory"],
                                   capture_output=True, text=True)
                if should_see and r.returncode != 0:
                    failures.append(f"{layer}: its own header {h} does not preprocess: {r.stderr.strip()[:300]}")
                if not should_see:
                    if r.returncode == 0:
                        failures.append(f"{layer}: an upward/sideways include of {h} ({other}) built")
                    elif "No such file" not in r.stderr:
                        failures.append(f"{layer}: including {h} failed for another reason: {r.stderr.strip()[:300]}")
            print(f"{layer:11s} sees {', '.join(sorted(closure(layer) - {layer})) or '-'}")
    if failures:
        print("\n".join("FAIL: " + f for f in failures))
        return 1
    print(f"ok: {len(by_layer)} layers; every include outside a layer's dependencies fails to build")
    return 0


if __name__ == "__main__":
    sys.exit(main())
