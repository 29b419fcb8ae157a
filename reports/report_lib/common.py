"""Shared helpers: bad-input errors, JSON reading, atomic writes, number checks, nested lookups."""
import json
import math
import os
import tempfile


class BadInput(Exception):
    """Input the renderer cannot use. The message is one line: 'PATH: problem'. Exit code 2."""


def read_json(path):
    """Parse a JSON file; raise BadInput naming the file on a missing file or malformed JSON."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise BadInput(f"{path}: not found") from None
    except OSError as e:
        raise BadInput(f"{path}: cannot read ({e.strerror})") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise BadInput(f"{path}: malformed JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None


def write_atomic(path, data):
    """Write str or bytes to path via a temporary file in the same directory and os.replace."""
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def is_num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def num(x):
    """x as float when it is a finite number, else None."""
    return float(x) if is_num(x) else None


def dig(obj, *path, default=None):
    """obj[path[0]][path[1]]... or default when any step is missing or not a dict."""
    cur = obj
    for k in path:
        if not isinstance(cur, dict) or k not in cur:
            return default
        cur = cur[k]
    return cur


def num_list(x):
    """A list of numbers (None for non-finite entries), or None when x is not a non-empty list."""
    if not isinstance(x, list) or not x:
        return None
    return [num(v) for v in x]


def si(v, unit=""):
    """3 significant digits with an SI prefix: si(4.18e6, "FLOP") -> '4.18 MFLOP'; None -> '–'."""
    if v is None:
        return "–"
    for e, p in ((18, "E"), (15, "P"), (12, "T"), (9, "G"), (6, "M"), (3, "k")):
        if abs(v) >= 10 ** e:
            return f"{v / 10 ** e:.3g} {p}{unit}".strip()
    return f"{v:.3g} {unit}".strip()


def flatten(obj, prefix=""):
    """{'a': {'b': 1}} -> {'a.b': 1}; dotted keys already flat stay as they are."""
    out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, dict) and v:
                out.update(flatten(v, key))
            else:
                out[key] = v
    return out


def clean_for_json(x):
    """Replace non-finite floats by None (report.json is strict JSON)."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: clean_for_json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean_for_json(v) for v in x]
    return x
