"""results_md.py: shared by the benchmark scripts in profiling/bench: the short git commit, and replacing one
marked section of benchmarks/RESULTS.md (<!-- TAG:begin DEVICE --> ... <!-- TAG:end DEVICE -->) atomically, so
each script owns its sections and re-running it on the same device updates them in place."""
import os
import re
import subprocess


def commit():
    r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
    return (r.stdout.strip() or "unknown") + ("-dirty" if dirty.stdout.strip() else "")


def markers(tag, device):
    return f"<!-- {tag}:begin {device} -->", f"<!-- {tag}:end {device} -->"


def replace_section(path, tag, device, lines, new_section_intro=""):
    """lines: the section body (without markers). A section not yet in the file is appended after the intro."""
    begin, end = markers(tag, device)
    block = "\n".join([begin, *lines, end])
    text = open(path).read() if os.path.exists(path) else "# Benchmark results\n"
    pat = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    if pat.search(text):
        text = pat.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + (new_section_intro + "\n\n" if new_section_intro else "") + block + "\n"
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    return block
