"""Structural links between paths that follow from naming conventions alone.

Why names: a module and its tests, a package and its ``__init__.py``, a docs
page and the module it is named after, change together for a reason that
holds on the first day, before any history has accumulated.  The conventions
here are the ones most Python projects share (``test_foo.py`` / ``foo_test.py``,
``tests/`` / ``testing/`` folders, ``src/`` layouts, plural folder names used in
singular test names such as ``tests/test_pipeline_files.py`` for
``pkg/pipelines/files.py``); nothing is keyed to one repository's layout.  How
much each link is worth in a given repository is not decided here: the
co-change model weighs them with what that repository's own history shows.

Everything works on plain ``/``-separated paths; the caller supplies the paths
that are alive (see :class:`NameIndex`), so the helpers never touch a disk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "DOC_SUFFIXES",
    "TEST_ROOTS",
    "NameIndex",
    "doc_names_module",
    "is_doc_path",
    "is_test_path",
    "module_test_strength",
    "name_template",
    "package_init",
    "path_words",
]

#: Folder names that hold tests in most Python projects.
TEST_ROOTS = frozenset({"test", "tests", "testing"})
#: File suffixes of prose documentation.
DOC_SUFFIXES = (".rst", ".md", ".txt", ".adoc")
#: Words too common in paths to say anything about what a file is about.
_FILLER = frozenset({"src", "lib", "py", "test", "tests", "testing", "init", "main", "doc", "docs", "en", "the"})
_SPLIT = re.compile(r"[^a-z0-9]+")
_DIGITS = re.compile(r"\d+")


def _norm(word: str) -> str:
    """One spelling per word: lower case, a plural ``s`` dropped (``pipelines`` -> ``pipeline``)."""
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _words(text: str) -> tuple[str, ...]:
    return tuple(_norm(w) for w in _SPLIT.split(text.lower()) if w)


def path_words(path: str) -> frozenset[str]:
    """The words a path is made of, minus filler (``src``, ``tests``, extensions...).

    Used for the lexical similarity of two paths: ``tests/test_utils_url.py``
    and ``pkg/utils/url.py`` share ``util`` and ``url``.
    """
    out: set[str] = set()
    for w in _words(path.rsplit(".", 1)[0] if "." in path.rsplit("/", 1)[-1] else path):
        if w.startswith("test") and len(w) > 4:
            w = w[4:]
        if len(w) >= 2 and w not in _FILLER and not w.isdigit():
            out.add(w)
    return frozenset(out)


def _split(path: str) -> tuple[list[str], str]:
    parts = path.split("/")
    return parts[:-1], parts[-1]


def is_test_path(path: str) -> bool:
    """True for test modules and test support files by the common conventions."""
    dirs, base = _split(path)
    if base.startswith("test_") or base.endswith("_test.py") or base in {"conftest.py", "tests.py"}:
        return True
    return any(d in TEST_ROOTS for d in dirs)


def is_doc_path(path: str) -> bool:
    """True for prose documentation (``.rst``, ``.md``...) or anything under ``doc``/``docs``."""
    dirs, base = _split(path)
    return base.lower().endswith(DOC_SUFFIXES) or bool(dirs and dirs[0] in {"doc", "docs"})


def name_template(path: str) -> str:
    """The path with digit runs replaced by ``#``: ``changelog/123.bugfix.rst`` -> ``changelog/#.bugfix.rst``.

    Why: files born one per change (changelog fragments, migrations, release
    notes) are new in every commit, so they have no history of their own; the
    template gathers the history of their siblings.
    """
    return _DIGITS.sub("#", path)


def package_init(path: str) -> str | None:
    """The ``__init__.py`` of the package that holds a Python module, or None."""
    dirs, base = _split(path)
    if not dirs or not base.endswith(".py") or base == "__init__.py":
        return None
    return "/".join([*dirs, "__init__.py"])


def _test_subject(path: str) -> tuple[tuple[str, ...], tuple[str, ...], bool] | None:
    """For a test module, (words of what it tests, words of its folders below the test root, named test_*).

    A module under a test folder without the ``test_`` prefix
    (``testing/python/fixtures.py``) is a test of what it is named after too,
    but a weaker one: it may as well be a helper.
    """
    dirs, base = _split(path)
    if not base.endswith(".py"):
        return None
    stem = base[:-3]
    roots = [i for i, d in enumerate(dirs) if d in TEST_ROOTS]
    prefixed = True
    if stem.startswith("test_"):
        subject = stem[5:]
    elif stem.endswith("_test"):
        subject = stem[:-5]
    elif roots and stem not in {"conftest", "__init__", "__main__"}:
        subject, prefixed = stem, False
    else:
        return None
    below = dirs[roots[-1] + 1 :] if roots else dirs[1:]
    dir_words = tuple(w for d in below for w in _words(d))
    words = _words(subject)
    return (words, dir_words, prefixed) if words else None


def _module_subject(path: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """For a non-test Python module, (words of its name, words of its folders)."""
    if is_test_path(path):
        return None
    dirs, base = _split(path)
    if not base.endswith(".py"):
        return None
    stem = base[:-3]
    if stem == "__init__":
        if not dirs:
            return None
        stem, dirs = dirs[-1], dirs[:-1]
    words = _words(stem.lstrip("_"))
    dir_words = tuple(w for d in dirs if d != "src" for w in _words(d.lstrip("_")))
    return (words, dir_words) if words else None


def module_test_strength(test_path: str, module_path: str) -> float:
    """How strongly a test module's name says it tests a module, 0 (not at all) to 1.

    * ``test_foo.py`` / ``foo_test.py`` and ``foo.py``: the test's subject ends
      with the module's name (0.6), plus up to 0.4 for the rest of the subject
      and the test's folders found among the module's folders
      (``tests/test_downloadermiddleware_cookies.py`` and
      ``pkg/downloadermiddlewares/cookies.py`` score 1.0).
    * ``tests/foo/test_*.py`` and ``foo.py`` (or ``foo/__init__.py``): the
      test's folder is the module's name (0.4 plus the same bonus).
    * a module under a test folder named like the module, without ``test_``
      (``testing/python/fixtures.py`` and ``src/pkg/fixtures.py``): 0.7 times the above.
    """
    ts = _test_subject(test_path)
    ms = _module_subject(module_path)
    if ts is None or ms is None:
        return 0.0
    subject, tdirs, prefixed = ts
    name, mdirs = ms
    weight = 1.0 if prefixed else 0.7
    n = len(name)
    if len(subject) >= n and subject[-n:] == name:
        base, rest = 0.6, subject[:-n]
    elif len(tdirs) >= n and tdirs[-n:] == name:
        base, rest, tdirs = 0.4, subject, tdirs[:-n]
    else:
        return 0.0
    context = set(rest) | set(tdirs)
    if not context:
        return weight * (base + 0.2)
    found = len(context & set(mdirs))
    return weight * (base + 0.4 * found / len(context))


def doc_names_module(doc_path: str, module_path: str) -> bool:
    """True when a docs page is named after a module (``docs/topics/exporters.rst`` and ``pkg/exporters.py``)."""
    if not is_doc_path(doc_path) or is_doc_path(module_path):
        return False
    ms = _module_subject(module_path)
    if ms is None:
        return False
    _, base = _split(doc_path)
    page = frozenset(_words(base.rsplit(".", 1)[0]))
    return bool(page) and set(ms[0]) <= page and len("".join(ms[0])) >= 3


@dataclass
class NameIndex:
    """The alive paths, indexed by the words the conventions above look up.

    Kept incrementally (``add`` / ``discard`` as commits create, delete and
    rename files) so a query never scans the whole tree.
    """

    _tests_by_word: dict[str, set[str]] = field(default_factory=dict)
    _modules_by_word: dict[str, set[str]] = field(default_factory=dict)
    _docs_by_word: dict[str, set[str]] = field(default_factory=dict)
    _paths_by_word: dict[str, set[str]] = field(default_factory=dict)
    _words_of: dict[str, frozenset[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._words_of)

    def __contains__(self, path: object) -> bool:
        return path in self._words_of

    def _keys(self, path: str) -> tuple[dict[str, set[str]], tuple[str, ...]] | None:
        ts = _test_subject(path)
        if ts is not None:
            subject, tdirs, _ = ts
            return self._tests_by_word, tuple({*subject[-1:], *tdirs[-1:]})
        ms = _module_subject(path)
        if ms is not None:
            return self._modules_by_word, ms[0][-1:]
        if is_doc_path(path):
            _, base = _split(path)
            return self._docs_by_word, _words(base.rsplit(".", 1)[0])
        return None

    def add(self, path: str) -> None:
        """Record a path as alive (idempotent)."""
        if path in self._words_of:
            return
        words = path_words(path)
        self._words_of[path] = words
        for w in words:
            self._paths_by_word.setdefault(w, set()).add(path)
        keyed = self._keys(path)
        if keyed is not None:
            table, keys = keyed
            for k in keys:
                table.setdefault(k, set()).add(path)

    def discard(self, path: str) -> None:
        """Record a path as gone (deleted or renamed away); unknown paths are ignored."""
        words = self._words_of.pop(path, None)
        if words is None:
            return
        for w in words:
            self._paths_by_word[w].discard(path)
        keyed = self._keys(path)
        if keyed is not None:
            table, keys = keyed
            for k in keys:
                table.get(k, set()).discard(path)

    def update(self, paths: Iterable[str]) -> None:
        """Add several alive paths."""
        for p in paths:
            self.add(p)

    def word_rarity(self, word: str) -> int:
        """How many alive paths contain a word (0 for a word no alive path has)."""
        got = self._paths_by_word.get(word)
        return len(got) if got else 0

    def with_word(self, word: str) -> set[str]:
        """The alive paths that contain a word (do not modify the returned set)."""
        return self._paths_by_word.get(word, set())

    def words(self, path: str) -> frozenset[str]:
        """The path's words (computed for paths that are not alive too)."""
        got = self._words_of.get(path)
        return got if got is not None else path_words(path)

    def partners(self, path: str) -> dict[str, tuple[str, float]]:
        """Alive paths linked to ``path`` by a naming convention: {partner: (kind, strength)}.

        Kinds: ``"test"`` (the partner tests ``path``), ``"tested"`` (``path``
        tests the partner), ``"package"`` (the partner is the package's
        ``__init__.py``), ``"doc"`` (a docs page named after ``path``).  For
        tests and modules only the best-scoring partners are kept, so a
        ``utils.py`` in one package does not pull in every ``test_utils.py``.
        """
        out: dict[str, tuple[str, float]] = {}
        ts = _test_subject(path)
        if ts is not None:
            subject, tdirs, _ = ts
            cands = set().union(*(self._modules_by_word.get(k, set()) for k in {*subject[-1:], *tdirs[-1:]}))
            self._best(out, "tested", ((m, module_test_strength(path, m)) for m in cands if m != path))
            return out
        ms = _module_subject(path)
        if ms is not None:
            cands = self._tests_by_word.get(ms[0][-1], set()) if ms[0] else set()
            self._best(out, "test", ((t, module_test_strength(t, path)) for t in cands if t != path))
            init = package_init(path)
            if init is not None and init in self._words_of:
                out.setdefault(init, ("package", 0.5))
            for d in self._docs_by_word.get(ms[0][-1], set()):
                if doc_names_module(d, path):
                    out.setdefault(d, ("doc", 0.5))
        return out

    @staticmethod
    def _best(out: dict[str, tuple[str, float]], kind: str, scored: Iterable[tuple[str, float]]) -> None:
        pairs = [(p, s) for p, s in scored if s > 0.0]
        if not pairs:
            return
        top = max(s for _, s in pairs)
        for p, s in pairs:
            if s >= top - 1e-9:
                out[p] = (kind, s)
