#!/usr/bin/env python3
"""default_corpus.py: the embedded default corpus's text, from Debian packages that ci/setup.sh installs (no download
at run time). Writes one plain-text file per source into OUT (documents separated by blank lines, one paragraph per
line inside a document, the rule `skipbench data prepare` splits on), OUT/mixed.txt, and OUT/sources.json: for
every source its Debian package and version, licence (as its copyright file states it), the files read with a
SHA-256 checksum, and what was kept. ci/default_data.sh then tokenises OUT/mixed.txt and merges sources.json into
the manifest.

Why mixed.txt: skipbench's loader reads shards in order, a batch being B*T consecutive tokens (llm.c, the paper's
loader), so a corpus written source after source would train a short run on fortunes only and validate it on a
mix dominated by Python's documentation, and a batch of one 2,048-token page would swing the training loss by
a nat between sources. So every document is cut at paragraph boundaries into chunks of at most CHUNK_BYTES
(a paragraph longer than that stays whole), and the chunks of all sources are shuffled with a fixed seed: the
training stream is a stationary mix and validation (every 20th chunk) a sample of the same mix.

Sources, in order (prose first; each is English):
  fortunes         Debian's fortune files (quotations, jokes, literature), minus the ascii-art pictures
  bible-kjv        the King James Bible (public domain), one chapter per document, via bible-kjv's own `bible -f`
  jargon           the Jargon File 4.4.7 (public domain), one entry per document
  debian-reference the Debian Reference (GPL-2+), plain-text edition, one section per document
  debian-handbook  The Debian Administrator's Handbook (GPL-2+ or CC-BY-SA-3.0), en-US HTML, one section per document
  python-doc       the Python 3.11 documentation (PSF-2.0), HTML; prose and code blocks, one page per document

Only the standard library: html.parser does the HTML, so no dependency is added for this.
Usage: default_corpus.py OUT [--only NAME,...]   (exit 2 with a one-line error when a source is missing)
"""
import argparse
import gzip
import hashlib
import html.parser
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

FORTUNES = Path("/usr/share/games/fortunes")
CHUNK_BYTES = 250  # ~75 tokens at the 4096-piece vocabulary: a 4,096-token batch spans ~50 chunks
SHUFFLE_SEED = 20261201
DOC = Path("/usr/share/doc")


def sha256_files(files) -> str:
    """SHA-256 over every input file's name and bytes, in order: which package contents the text came from."""
    h = hashlib.sha256()
    for f in files:
        h.update(str(f).encode() + b"\0")
        h.update(f.read_bytes())
    return h.hexdigest()


class Missing(Exception):
    pass


def need(p: Path, package: str) -> Path:
    if not p.exists():
        raise Missing(f"{p} is missing: install Debian's {package} (bash ci/setup.sh)")
    return p


def package_version(package: str) -> str:
    r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else "unknown"


def clean_doc(paragraphs):
    """One document: paragraphs with whitespace collapsed, one per line, no blank line, no '%' line."""
    out = []
    for p in paragraphs:
        p = re.sub(r"\s+", " ", p).strip()
        if p and p != "%":
            out.append(p)
    return "\n".join(out)


# ---- fortunes: unchanged files (they are already in the '%' document format) ----
def fortunes():
    need(FORTUNES, "fortunes")
    files = sorted(f for f in FORTUNES.iterdir()
                   if f.is_file() and not f.is_symlink() and "." not in f.name and f.name not in ("art", "ascii-art"))
    text = "".join(f.read_text(encoding="utf-8", errors="replace").rstrip("\n") + "\n%\n" for f in files)
    return text, files, ["fortunes", "fortune-anarchism", "fortunes-bofh-excuses", "fortunes-debian-hints"], \
        "various, per file: see /usr/share/doc/fortunes*/copyright (quotations; BSD-style and public domain)"


# ---- the King James Bible: `bible -f` prints "Ge1:1 text" one verse per line ----
def bible():
    data = need(Path("/usr/lib/bible.data"), "bible-kjv-text")
    exe = need(Path("/usr/bin/bible"), "bible-kjv")
    r = subprocess.run([str(exe), "-f", "-l100000", "Gen1:1-Rev22:21"], capture_output=True, text=True, check=True)
    docs, cur, chapter = [], [], None
    for line in r.stdout.splitlines():
        m = re.match(r"^([1-3]?[A-Za-z]+)(\d+):(\d+) (.*)$", line)
        if not m:
            continue
        key = (m.group(1), m.group(2))
        if key != chapter and cur:
            docs.append(clean_doc(cur))
            cur = []
        chapter = key
        cur.append(m.group(4))
    if cur:
        docs.append(clean_doc(cur))
    return "\n\n".join(docs) + "\n", [data], ["bible-kjv-text", "bible-kjv"], \
        "public domain (the King James Version's copyright has expired; /usr/share/doc/bible-kjv-text/copyright)"


# ---- the Jargon File: entries start at a line ':headword: ...' after the glossary begins ----
def jargon():
    src = need(DOC / "jargon-text/jargon.txt.gz", "jargon-text")
    lines = gzip.decompress(src.read_bytes()).decode("utf-8", errors="replace").splitlines()
    docs, cur_paras, para = [], [], []

    def flush_para():
        if para:
            cur_paras.append(" ".join(para))
            para.clear()

    started = False
    for line in lines:
        if re.match(r"^\s*:[^:]+:", line):  # a new entry
            started = True
            flush_para()
            if cur_paras:
                docs.append(clean_doc(cur_paras))
                cur_paras.clear()
        if not started:
            continue
        if line.strip():
            para.append(line.strip())
        else:
            flush_para()
    flush_para()
    if cur_paras:
        docs.append(clean_doc(cur_paras))
    docs = [d for d in docs if len(d) > 40]
    return "\n\n".join(docs) + "\n", [src], ["jargon-text"], \
        "public domain (the Jargon File; /usr/share/doc/jargon-text/copyright)"


# ---- Debian Reference, plain text: sections start at numbered headings like '1.2.3. Title' ----
def debian_reference():
    src = need(Path("/usr/share/debian-reference/debian-reference.en.txt.gz"), "debian-reference-en")
    lines = gzip.decompress(src.read_bytes()).decode("utf-8", errors="replace").splitlines()
    docs, cur, para = [], [], []
    for line in lines:
        s = line.strip()
        if re.match(r"^(Chapter \d+\.|\d+(\.\d+)+\.) \S", s):
            if para:
                cur.append(" ".join(para))
                para = []
            if cur:
                docs.append(clean_doc(cur))
                cur = []
        if s and not re.match(r"^[-=_*]{3,}$", s):
            para.append(s)
        elif para:
            cur.append(" ".join(para))
            para = []
    if para:
        cur.append(" ".join(para))
    if cur:
        docs.append(clean_doc(cur))
    docs = [d for d in docs if "\n" in d and len(d) > 80]  # a lone heading is the table of contents
    return "\n\n".join(docs) + "\n", [src], ["debian-reference-en"], \
        "GPL-2+ (/usr/share/doc/debian-reference-en/copyright)"


# ---- HTML: text of block elements inside the main content, a document per section/page ----
class BlockText(html.parser.HTMLParser):
    """Collects the text of block elements (p, li, dt, dd, pre, h1-h6, td) inside the element whose class or id
    matches `body`; a heading of level <= split_level starts a new document. pre blocks keep their lines."""
    BLOCKS = {"p", "li", "dt", "dd", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "td", "th", "blockquote"}
    SKIP = {"script", "style", "head", "title"}

    def __init__(self, body_re, split_level, drop_re=None):
        super().__init__(convert_charrefs=True)
        self.body_re, self.split_level, self.drop_re = re.compile(body_re), split_level, drop_re and re.compile(drop_re)
        self.depth_body = None  # tag depth at which the main content started
        self.depth = 0
        self.skip = 0
        self.drop_depth = None
        self.pre = 0
        self.buf = []
        self.docs = [[]]

    def _flush(self):
        t = "".join(self.buf)
        self.buf = []
        if self.pre:
            for ln in t.splitlines():
                if ln.strip():
                    self.docs[-1].append(ln.rstrip())
        elif t.strip():
            self.docs[-1].append(re.sub(r"\s+", " ", t).strip())

    VOID = {"br", "img", "hr", "meta", "link", "input", "col", "area", "base", "wbr", "source"}

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            if tag == "br" and self.pre:
                self.buf.append("\n")
            return
        self.depth += 1
        a = dict(attrs)
        cls = " ".join(filter(None, [a.get("class"), a.get("id")]))
        if self.depth_body is None and self.body_re.search(cls or ""):
            self.depth_body = self.depth
        if self.drop_re and self.drop_depth is None and self.drop_re.search(cls or ""):
            self.drop_depth = self.depth
        if tag in self.SKIP:
            self.skip += 1
        if tag in self.BLOCKS:
            self._flush()
            if tag == "pre":
                self.pre += 1
            if tag[0] == "h" and tag[1:].isdigit() and int(tag[1:]) <= self.split_level and self.docs[-1]:
                self.docs.append([])

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if tag in self.BLOCKS:
            self._flush()
            if tag == "pre" and self.pre:
                self.pre -= 1
        if tag in self.SKIP and self.skip:
            self.skip -= 1
        if self.drop_depth is not None and self.depth <= self.drop_depth:
            self.drop_depth = None
        if self.depth_body is not None and self.depth <= self.depth_body:
            self.depth_body = None
        self.depth = max(0, self.depth - 1)

    def handle_data(self, data):
        if self.depth_body is not None and not self.skip and self.drop_depth is None:
            self.buf.append(data)

    def documents(self):
        self._flush()
        out = []
        for d in self.docs:
            lines = [re.sub(r"[ \t\r\f\v]+", " ", x).strip() if not x.startswith(" ") else x.rstrip() for x in d]
            lines = [x.replace("\u00b6", "").strip() for x in lines]
            lines = [x for x in lines if x and x != "%"]
            if sum(len(x) for x in lines) > 80:
                out.append("\n".join(lines))
        return out


def html_docs(files, body_re, split_level, drop_re=None):
    docs = []
    for f in files:
        p = BlockText(body_re, split_level, drop_re)
        p.feed(f.read_text(encoding="utf-8", errors="replace"))
        p.close()
        docs.extend(p.documents())
    return docs


def debian_handbook():
    root = need(DOC / "debian-handbook/html/en-US", "debian-handbook")
    files = sorted(f for f in root.glob("*.html") if f.name not in ("index.html", "ix01.html"))
    docs = html_docs(files, r"\b(chapter|section|preface|appendix|book|glossary)\b", 2, r"\b(toc|navfooter|navheader)\b")
    return "\n\n".join(docs) + "\n", files, ["debian-handbook"], \
        "GPL-2.0+ or CC-BY-SA-3.0 (/usr/share/doc/debian-handbook/copyright)"


def python_doc():
    root = need(DOC / "python3.11/html", "python3.11-doc")
    parts = ["tutorial", "library", "reference", "howto", "faq", "using", "extending", "c-api", "whatsnew"]
    files = sorted(f for part in parts for f in (root / part).glob("*.html") if f.name != "index.html")
    docs = html_docs(files, r"\bbody\b", 1, r"\b(headerlink|sphinxsidebar|related|footer)\b")
    return "\n\n".join(docs) + "\n", files, ["python3.11-doc"], "PSF-2.0 (/usr/share/doc/python3.11-doc/copyright)"


BOX = re.compile(r"[\u2500-\u257f]|^\s*[+|][-=+|]{4,}|\|-{4,}|[A-Za-z]{30,}")
DROPPED = {"lines": 0, "bytes": 0}


def keep_line(ln):
    """Drops text tables drawn with box characters or +----+ rules, 30+-letter "words" (the fortunes' chemical
    names), and lines that are mostly not letters (digit blobs, hex dumps): a single 2,048-token batch holding one
    costs the model 0.6-1.5 nats more than its neighbours, a loss spike made by the data. Counted in sources.json."""
    letters = sum(ch.isalpha() or ch == " " for ch in ln)
    if BOX.search(ln) or letters < 0.5 * len(ln):
        DROPPED["lines"] += 1
        DROPPED["bytes"] += len(ln.encode("utf-8"))
        return False
    return True


def chunk_document(doc):
    """Cuts a document (one paragraph per line) into chunks of whole lines, each at most CHUNK_BYTES when its lines
    allow; a '%' line or a blank line never occurs inside a chunk."""
    lines = [ln for ln in doc.split("\n") if ln.strip() and ln.strip() != "%" and keep_line(ln)]
    out, cur, size = [], [], 0
    for ln in lines:
        b = len(ln.encode("utf-8")) + 1
        if cur and size + b > CHUNK_BYTES:
            out.append("\n".join(cur))
            cur, size = [], 0
        cur.append(ln)
        size += b
    if cur:
        out.append("\n".join(cur))
    return out


SOURCES = [("fortunes", fortunes), ("bible-kjv", bible), ("jargon", jargon), ("debian-reference", debian_reference),
           ("debian-handbook", debian_handbook), ("python-doc", python_doc)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--only", default="", help="comma-separated source names (default: all)")
    a = ap.parse_args()
    only = set(filter(None, a.only.split(",")))
    unknown = only - {n for n, _ in SOURCES}
    if unknown:
        sys.exit(f"default_corpus: --only {','.join(sorted(unknown))}: unknown source; known: "
                 + ", ".join(n for n, _ in SOURCES))
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = []
    for i, (name, fn) in enumerate(SOURCES):
        if only and name not in only:
            continue
        try:
            text, files, packages, licence = fn()
        except Missing as e:
            print(f"default_corpus: {e}", file=sys.stderr)
            sys.exit(2)
        # documents never contain a '%' line or blank line of their own; strip stray control characters
        text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text)
        path = out / f"{i:02d}-{name}.txt"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        meta.append({"name": name, "text": path.name, "text_bytes": len(text.encode("utf-8")),
                     "packages": [{"name": p, "version": package_version(p)} for p in packages],
                     "licence": licence, "files": len(files),
                     "files_sha256": sha256_files(files)})
        print(f"default_corpus: {name}: {len(files)} file(s) -> {path.name} ({meta[-1]['text_bytes']:,} bytes)")
    chunks = []
    for m in meta:
        n = 0
        for doc in re.split(r"\n(?:[ \t]*\n|%\n)+", (out / m["text"]).read_text(encoding="utf-8")):
            for c in chunk_document(doc):
                chunks.append(c)
                n += 1
        m["chunks"] = n
    random.Random(SHUFFLE_SEED).shuffle(chunks)
    mixed = "\n\n".join(chunks) + "\n"
    tmp = out / "mixed.tmp"
    tmp.write_text(mixed, encoding="utf-8")
    os.replace(tmp, out / "mixed.txt")
    print(f"default_corpus: {len(chunks):,} chunks of <= {CHUNK_BYTES} bytes shuffled (seed {SHUFFLE_SEED}) -> mixed.txt "
          f"({len(mixed.encode('utf-8')):,} bytes)")
    tmp = out / "sources.json.tmp"
    tmp.write_text(json.dumps({"mixing": {"chunk_bytes": CHUNK_BYTES, "shuffle_seed": SHUFFLE_SEED,
                                          "chunks": len(chunks), "rule": "documents cut at paragraph (line) "
                                          "boundaries into chunks of at most chunk_bytes, all sources' chunks "
                                          "shuffled (Python random.Random(seed).shuffle)",
                                          "dropped_lines": DROPPED["lines"], "dropped_bytes": DROPPED["bytes"],
                                          "drop_rule": "lines with box-drawing characters, +----+ table rules or "
                                          "30+ consecutive letters, or less than half letters and spaces (keep_line)"},
                               "sources": meta}, indent=1) + "\n")
    os.replace(tmp, out / "sources.json")


if __name__ == "__main__":
    main()
