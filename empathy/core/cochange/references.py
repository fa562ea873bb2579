"""Which modules a file's text refers to: Python imports, dotted names in docs.

Why: a module and the files that import it, or the docs page that documents
it (``.. autoclass:: pkg.http.Request``), change together for a reason the
history may not show yet.  This is the content side of structural evidence;
:mod:`.naming` is the path side.  Only plain text goes in (the caller reads
the files, e.g. with one ``git cat-file --batch``); names come out, and the
index resolves them to the files alive at query time, so a module created
after the reference was read is still found.
"""

from __future__ import annotations

import re

__all__ = ["MAX_TEXT", "mentioned_names", "module_name", "name_prefixes", "reads_references"]

#: Longer texts are generated or data files; reading them costs more than they tell.
MAX_TEXT = 200_000
_PY_SUFFIX = ".py"
_DOC_SUFFIXES = (".rst", ".md", ".txt")
_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+\(?([\w, \t]*)|import[ \t]+([\w., \t]+))", re.MULTILINE
)
_DOTTED = re.compile(r"(?<![\w./-])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)")


def reads_references(path: str) -> bool:
    """True for the files whose text is worth reading for references (Python and prose docs)."""
    return path.endswith(_PY_SUFFIX) or path.lower().endswith(_DOC_SUFFIXES)


def module_name(path: str) -> str | None:
    """The dotted module a Python file is importable as (``src/`` layouts included), or None."""
    if not path.endswith(_PY_SUFFIX):
        return None
    parts = path[: -len(_PY_SUFFIX)].split("/")
    if parts[0] == "src" and len(parts) > 1:
        parts = parts[1:]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or not all(p.isidentifier() for p in parts):
        return None
    return ".".join(parts)


def name_prefixes(name: str) -> list[str]:
    """``a.b.C`` -> ``["a.b.C", "a.b", "a"]``: a reference to a class is a reference to its module."""
    parts = name.split(".")
    return [".".join(parts[:k]) for k in range(len(parts), 0, -1)]


def mentioned_names(path: str, text: str) -> frozenset[str]:
    """The dotted names a file refers to: imports of a Python file, dotted identifiers of a docs page.

    Relative imports are resolved against the file's own package.  Texts
    longer than :data:`MAX_TEXT` are skipped (an empty set).
    """
    if len(text) > MAX_TEXT:
        return frozenset()
    if path.endswith(_PY_SUFFIX):
        return _imports(path, text)
    if path.lower().endswith(_DOC_SUFFIXES):
        return frozenset(m for m in _DOTTED.findall(text) if not _looks_like_file(m))
    return frozenset()


def _looks_like_file(name: str) -> bool:
    last = name.rsplit(".", 1)[-1].lower()
    return last in {"py", "rst", "md", "txt", "toml", "cfg", "ini", "yml", "yaml", "json", "html", "com", "org", "io"}


def _imports(path: str, text: str) -> frozenset[str]:
    own = module_name(path) or ""
    package = own if path.endswith("/__init__.py") else own.rpartition(".")[0]
    out: set[str] = set()
    for frm, what, plain in _IMPORT.findall(text):
        if frm:
            if frm.startswith("."):
                dots = len(frm) - len(frm.lstrip("."))
                base = package.split(".") if package else []
                if dots - 1 > len(base):
                    continue
                base = base[: len(base) - (dots - 1)]
                rest = frm[dots:]
                name = ".".join([*base, rest] if rest else base)
            else:
                name = frm
            if name:
                out.add(name)
                # ``from pkg import sub``: ``sub`` may be a module; the index keeps the longest name that is one
                out.update(f"{name}.{w.split()[0]}" for w in what.split(",") if w.strip() and w.split()[0] != "*")
        else:
            for item in plain.split(","):
                name = item.strip().split()[0] if item.strip() else ""
                if name:
                    out.add(name)
    return frozenset(out)
