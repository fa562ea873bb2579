"""What a path is for: product code, tests, docs, CI, packaging, a changelog.

Why by convention and not by content: the store keeps paths and line counts,
not diffs, and Python projects lay themselves out in a handful of well-known
ways (``src/pkg``, ``tests``/``testing``, ``docs``/``doc``, ``.github``,
``requirements/``).  The one layout fact that varies, which top-level folders
hold the tests (celery keeps them in ``t/``), is learned from the history by
:func:`empathy.core.labels.learn_conventions` and passed in as ``test_roots``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final, Literal

__all__ = [
    "CODE_SUFFIXES",
    "NON_PRODUCT",
    "Role",
    "RoleOf",
    "is_test_name",
]

#: The role of one path.  ``source`` is everything that ships and is not
#: documentation: the package, its templates and data, C extensions.
Role = Literal["source", "tests", "docs", "changelog", "fragment", "ci", "build", "deps", "tooling"]

#: Roles that never make a change a product bug fix on their own.
NON_PRODUCT: Final = frozenset({"tests", "docs", "changelog", "fragment", "ci", "build", "deps", "tooling"})

#: Suffixes of files whose change can alter behaviour (as opposed to data or prose).
CODE_SUFFIXES: Final = (
    ".py", ".pyi", ".pyx", ".pxd", ".c", ".h", ".cc", ".cpp", ".rs", ".js", ".ts", ".html", ".jinja", ".j2",
)  # fmt: skip

_TEST_FILE = re.compile(r"(^test_.*|.*_tests?|^conftest|^tests?)\.py$")
_TEST_DIRS: Final = frozenset({"test", "tests", "testing", "unittests", "unit_tests", "tests_typing", "test_typing"})
_DOC_DIRS: Final = frozenset({"doc", "docs", "documentation", "examples", "example", "sep", "man", "website"})
_DOC_SUFFIXES: Final = (".rst", ".md", ".txt", ".adoc", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".pdf")
_DOC_NAMES = re.compile(
    r"^(readme|authors|contributors|contributing|code_of_conduct|security|license|licence|copying|notice|"
    r"citation|support|funding|governance|maintainers|todo|thanks|install|tidelift|opencollective|releasing)"
    r"(\.\w+)?$",
    re.IGNORECASE,
)
_CHANGELOG_NAMES = re.compile(
    r"^(changes|changelog|change_log|history|news|release[-_ ]?notes|whatsnew|whats[-_]new)(\.\w+)?$",
    re.IGNORECASE,
)
_CI_DIRS: Final = frozenset({".github", ".circleci", ".gitlab", ".azure-pipelines", ".ci", "ci", ".devcontainer"})
_CI_NAMES = re.compile(
    r"^(\.travis\.yml|appveyor\.yml|\.appveyor\.yml|azure-pipelines.*\.ya?ml|\.gitlab-ci\.yml|\.?codecov\.ya?ml|"
    r"\.coveragerc|\.pre-commit-config\.yaml|\.pre-commit-hooks\.yaml|\.readthedocs\.ya?ml|\.cirrus\.yml|"
    r"jenkinsfile|\.gitignore|\.gitattributes|\.mailmap|\.editorconfig|\.git-blame-ignore-revs|\.flake8|"
    r"\.pylintrc|pylintrc|mypy\.ini|\.mypy\.ini|ruff\.toml|\.ruff\.toml|\.isort\.cfg|\.bumpversion\.cfg|"
    r"\.landscape\.ya?ml|\.hgignore|\.hgtags|zizmor\.ya?ml|\.dockerignore|\.typos\.toml|\.codespellrc)$",
    re.IGNORECASE,
)
_BUILD_NAMES = re.compile(
    r"^(setup\.py|setup\.cfg|pyproject\.toml|manifest\.in|tox\.ini|noxfile\.py|makefile|make\.bat|"
    r"dockerfile.*|docker-compose.*\.ya?ml|\.python-version|runtime\.txt|bandit\.json|pytest\.ini|"
    r"environment\.ya?ml|meson\.build|cmakelists\.txt)$",
    re.IGNORECASE,
)
_DEPS_NAMES = re.compile(
    r"^(requirements.*\.(txt|in)|constraints.*\.txt|.*\.lock|pipfile(\.lock)?|poetry\.lock|uv\.lock|"
    r"pdm\.lock|dev-requirements\.txt|test-requirements\.txt|package(-lock)?\.json|yarn\.lock)$",
    re.IGNORECASE,
)
_DEPS_DIRS: Final = frozenset({"requirements", "reqs"})
_BUILD_DIRS: Final = frozenset({"docker", "helm-chart", "helm", "packaging", "debian", "rpm", "conda-recipe"})
_TOOLING_DIRS: Final = frozenset(
    {"scripts", "script", "tools", "tool", "bench", "benchmark", "benchmarks", "extra", "extras", "contrib", "dev"}
)


def is_test_name(basename: str) -> bool:
    """``test_x.py``, ``x_test.py``, ``conftest.py``: the pytest/unittest naming conventions."""
    return bool(_TEST_FILE.match(basename))


class RoleOf:
    """Maps paths to roles; memoised, because a history names each path many times.

    ``fragment_dirs`` are the changelog-fragment folders and ``test_roots`` the
    extra test folders the repository's conventions name.
    """

    __slots__ = ("_cache", "_fragment_dirs", "_test_roots")

    def __init__(self, fragment_dirs: Iterable[str] = (), test_roots: Iterable[str] = ()) -> None:
        self._fragment_dirs = frozenset(fragment_dirs)
        self._test_roots = frozenset(test_roots)
        self._cache: dict[str, Role] = {}

    def __call__(self, path: str) -> Role:
        role = self._cache.get(path)
        if role is None:
            role = self._cache[path] = self._role(path)
        return role

    def _role(self, path: str) -> Role:
        folder, _, base = path.rpartition("/")
        if folder in self._fragment_dirs:
            return "fragment"
        parts = folder.split("/") if folder else []
        top = parts[0] if parts else ""
        lower_parts = [p.lower() for p in parts]
        if _CHANGELOG_NAMES.match(base) or any(p in ("changelog.d", "newsfragments", "news") for p in lower_parts):
            return "changelog"
        if top in _CI_DIRS or (not parts and _CI_NAMES.match(base)) or _CI_NAMES.match(base):
            return "ci"
        if top in self._test_roots or any(p in _TEST_DIRS for p in lower_parts) or is_test_name(base):
            return "tests"
        if _DEPS_NAMES.match(base) or top.lower() in _DEPS_DIRS:
            return "deps"
        if (not parts and _BUILD_NAMES.match(base)) or top.lower() in _BUILD_DIRS:
            return "build"
        if any(p in _DOC_DIRS for p in lower_parts):
            return "docs"
        if not parts and (_DOC_NAMES.match(base) or base.lower().endswith(_DOC_SUFFIXES)):
            return "docs"
        if top.lower() in _TOOLING_DIRS:
            return "tooling"
        if base.lower().endswith((".rst", ".md")):
            return "docs"
        return "source"
