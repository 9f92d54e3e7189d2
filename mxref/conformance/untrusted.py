"""Reading files a library (or anyone) wrote: printable text, bounded JSON, confined paths.

A dump.json, a MANIFEST.json or a recording's manifest.json is untrusted input: names must not
lead outside their directory, text printed from it must not drive the terminal, and a nesting
bomb must be refused with a message rather than a RecursionError.
"""

from __future__ import annotations

import json
from pathlib import Path

#: the deepest nesting of arrays / objects a dump.json or MANIFEST.json may hold (the formats need 4)
JSON_MAX_DEPTH = 32

def printable(s, keep: str = "") -> str:
    """s with terminal control characters (C0, DEL, C1, and the format characters such as the
    bidirectional overrides) written as escapes (\\x1b, \\u202e): a library name or version from a
    dump is printed, and must not move the cursor, clear the screen or fake a report line.
    ``keep``: characters left as they are (the report keeps its newlines)."""
    import unicodedata

    s = str(s)
    if s.isprintable() and not keep:
        return s
    out = []
    for ch in s:
        if ch in keep or (ch.isprintable() and unicodedata.category(ch) != "Cf") or ch == " ":
            out.append(ch)
        else:
            out.append(ascii(ch)[1:-1] if ord(ch) > 0xFF or ord(ch) < 0x80 else f"\\x{ord(ch):02x}")
    return "".join(out)


def short(v, n: int = 80) -> str:
    """repr of a value from a file, escaped and shortened: for error messages."""
    r = printable(repr(v))
    return r if len(r) <= n else r[: n - 3] + "..."


def json_depth_ok(obj, limit: int = JSON_MAX_DEPTH) -> bool:
    """Whether obj nests arrays / objects at most ``limit`` deep (iterative: no recursion)."""
    stack = [(obj, 1)]
    while stack:
        o, d = stack.pop()
        if isinstance(o, (list, dict)):
            if d > limit:
                return False
            stack.extend((c, d + 1) for c in (o.values() if isinstance(o, dict) else o))
    return True


def read_json(path: Path, what: str, err):
    """The JSON value of a file; any failure (unreadable, not UTF-8, not JSON, nested deeper than
    JSON_MAX_DEPTH, which would raise RecursionError in the parser) is err(message)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise err(f"{what} is not readable UTF-8 text ({type(exc).__name__}: {exc})") from None
    try:
        obj = json.loads(text)
    except RecursionError:
        raise err(f"{what} is nested too deeply (arrays / objects at most {JSON_MAX_DEPTH} deep)") from None
    except ValueError as exc:
        raise err(f"{what} is not valid JSON ({exc})") from None
    if not json_depth_ok(obj):
        raise err(f"{what} is nested too deeply (arrays / objects at most {JSON_MAX_DEPTH} deep)")
    return obj


def confined(root: Path, name, what: str, err) -> Path:
    """root / name, refused (err(message)) unless name is a non-empty relative path string
    without '..' whose resolved location (symlinks followed) stays inside root: the names in a
    dump.json or MANIFEST.json must not read files elsewhere on the machine."""
    if not isinstance(name, str) or not name:
        raise err(f"{what} must be a non-empty file name (a string), got {short(name)}")
    if "\x00" in name or any(not (ch.isprintable() or ch == " ") for ch in name):
        raise err(f"{what} {short(name)}: control characters are not allowed in file names")
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or Path(name).is_absolute() or (len(name) > 1 and name[1] == ":"):
        raise err(f"{what} {short(name)} must be a path relative to the directory, not absolute")
    if ".." in parts:
        raise err(f"{what} {short(name)} must stay inside the directory ('..' is not allowed)")
    try:
        top = root.resolve()
        p = (root / name).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop, a name too long
        raise err(f"{what} {short(name)}: cannot resolve it ({type(exc).__name__}: {exc})") from None
    if not p.is_relative_to(top):
        raise err(f"{what} {short(name)} leads outside the directory (a symlink to {short(str(p))}); "
                  "every file must be inside it")
    try:  # a name the file system refuses (too long, ...) is an error now, not a traceback later
        p.stat()
    except (FileNotFoundError, NotADirectoryError):
        pass  # a missing file: the caller says which one is missing
    except OSError as exc:
        raise err(f"{what} {short(name)}: cannot read it ({type(exc).__name__}: {exc.strerror or exc})") from None
    return p


