"""Commit labels: each convention on the smallest history that shows it.

Pure rules are tested on ``CommitFacts`` built by hand; what depends on the
shape of a real history (a pull request's commits, merges, first appearance of
a file) is tested on small real repositories read with one ``git log``, the
way the bench and the ingest read them.
"""

from __future__ import annotations

import ast
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

import empathy.core.labels as labels_pkg
from empathy.core.history.gitlog import LOG_FORMAT, parse_log_stream
from empathy.core.labels import (
    CORRECTED,
    Classifier,
    CommitFacts,
    Conventions,
    FileChange,
    Kind,
    Label,
    classify_all,
    fragment_type,
    is_bot,
    learn_conventions,
)
from tests.gitrepo import RepoBuilder

HUMAN = ("Alice", "alice@example.com")


# -- helpers ----------------------------------------------------------------------------------------
class History:
    """Hand-built facts: a linear history unless parents are given."""

    def __init__(self) -> None:
        self.commits: list[CommitFacts] = []

    def add(
        self,
        message: str,
        files: Sequence[FileChange] | dict[str, tuple[int, int]] = (),
        *,
        author: tuple[str, str] = HUMAN,
        parents: tuple[str, ...] | None = None,
    ) -> str:
        sha = f"{len(self.commits) + 1:040x}"
        if parents is None:
            parents = (self.commits[-1].sha,) if self.commits else ()
        if isinstance(files, dict):
            files = tuple(FileChange(p, a, d) for p, (a, d) in files.items())
        self.commits.append(CommitFacts(sha, parents, author[0], author[1], message, tuple(files)))
        return sha

    def labels(self, **learn: object) -> dict[str, Label]:
        conventions = learn_conventions(self.commits, **learn)  # type: ignore[arg-type]
        return classify_all(self.commits, conventions)


def src(path: str = "src/pkg/core.py", added: int = 5, deleted: int = 2) -> FileChange:
    return FileChange(path, added, deleted)


def fragment(number: int, kind: str) -> FileChange:
    return FileChange(f"changelog/{number}.{kind}.rst", 1, 0, new=True)


def with_fragment_history(h: History) -> None:
    """Five earlier fragments, one of them a bug fix, so that changelog/ is learned as the fragment folder."""
    for n in range(4):
        h.add(f"Add feature {n}", [src(), FileChange("tests/test_core.py", 3, 0), fragment(100 + n, "feature")])
    h.add("Repair the loader", [src(), fragment(104, "bugfix")])


def facts_of(path: Path) -> list[CommitFacts]:
    """One ``git log`` of a real repository, parents first; ``new`` marks a path's first appearance."""
    out = subprocess.run(
        ["git", "log", "--reverse", "--topo-order", "-z", "--numstat", "-M", "--diff-merges=off",
         f"--format={LOG_FORMAT}", "HEAD"],
        cwd=path, capture_output=True, check=True,
    ).stdout  # fmt: skip
    seen: set[str] = set()
    facts = []
    for rec in parse_log_stream([out]):
        files = []
        for ch in rec.changes:
            files.append(FileChange(ch.path, ch.added, ch.deleted, ch.old_path is None and ch.path not in seen))
            seen.add(ch.path)
        facts.append(CommitFacts(rec.sha, tuple(rec.parents), rec.author_name, rec.author_email, rec.message,
                                 tuple(files)))  # fmt: skip
    return facts


@pytest.fixture
def fragment_repo(repo: RepoBuilder) -> RepoBuilder:
    """A repository with a towncrier-style changelog/ folder already in use."""
    repo.commit("Initial layout", {"src/pkg/core.py": "x = 1\n", "tests/test_core.py": "def test(): pass\n"})
    for n in range(5):
        kind = "bugfix" if n == 4 else "feature"
        repo.commit(f"Add option {n}", {"src/pkg/core.py": f"x = {n + 2}\n", f"changelog/{10 + n}.{kind}.rst": "f\n"})
    return repo


# -- fragments --------------------------------------------------------------------------------------
def test_fragment_type_reads_towncrier_names() -> None:
    assert fragment_type("1234.bugfix.rst") == "bugfix"
    assert fragment_type("1234.bugfix.1.rst") == "bugfix"
    assert fragment_type("+orphan.feature.md") == "feature"
    assert fragment_type("README.rst") is None
    assert fragment_type("1234.unknownkind.rst") is None


def test_a_commit_adding_a_bugfix_fragment_is_a_fix_with_that_evidence() -> None:
    h = History()
    with_fragment_history(h)
    sha = h.add("Handle the empty-input case", [src(), fragment(1234, "bugfix")])
    label = h.labels()[sha]
    assert label.fix and label.kind is Kind.FIX and label.certain
    assert label.why == ("adds changelog/1234.bugfix.rst",)


def test_a_feature_fragment_outweighs_fix_words_in_the_subject() -> None:
    h = History()
    with_fragment_history(h)
    sha = h.add("fix #4416 - warn when fixtures are wrapped", [src(), fragment(4416, "improvement")])
    label = h.labels()[sha]
    assert not label.fix
    assert label.kind is Kind.FEATURE
    assert "improvement fragment" in label.why[0]


def test_a_fragment_is_inherited_through_a_merged_pull_request(fragment_repo: RepoBuilder) -> None:
    repo = fragment_repo
    repo.branch("bob/parser")
    code_only = repo.commit("Rework how the parser reads tokens", {"src/pkg/core.py": "x = 'reworked'\n"})
    repo.commit("Add changelog entry", {"changelog/77.bugfix.rst": "Parser no longer drops tokens.\n"})
    repo.checkout("main")
    direct = repo.commit("Rework the reporting loop", {"src/pkg/report.py": "y = 1\n"})
    merge = repo.merge("bob/parser", "Merge pull request #77 from bob/parser\n\nFix dropped tokens in the parser")
    labels = classify_all(facts_of(repo.path), learn_conventions(facts_of(repo.path)))
    assert labels[code_only].fix
    assert labels[code_only].why == ("its pull request adds changelog/77.bugfix.rst",)
    assert not labels[direct].fix  # on the main line: not part of that pull request
    assert not labels[merge].fix  # a merge is never counted itself
    assert labels[merge].kind is Kind.FIX  # but its title says what it is


def test_a_pull_request_that_also_records_a_feature_passes_nothing_on(fragment_repo: RepoBuilder) -> None:
    repo = fragment_repo
    repo.branch("bob/mixed")
    code_only = repo.commit("Rework how the parser reads tokens", {"src/pkg/core.py": "x = 'reworked'\n"})
    repo.commit("Changelog", {"changelog/78.bugfix.rst": "b\n", "changelog/78.feature.rst": "f\n"})
    repo.checkout("main")
    repo.merge("bob/mixed", "Merge pull request #78 from bob/mixed")
    facts = facts_of(repo.path)
    assert not classify_all(facts, learn_conventions(facts))[code_only].fix


def test_weak_evidence_needs_a_fragment_where_the_project_records_them() -> None:
    h = History()
    with_fragment_history(h)
    repair = h.add("Avoid recomputing the cache key", [src()])
    strong = h.add("Fix crash when the cache is empty", [src()])
    labels = h.labels()
    assert not labels[repair].fix and labels[repair].rule == "no-fragment"
    assert labels[strong].fix and not labels[strong].certain  # a fix verb still counts, less surely
    # without a fragment folder, the same repair verb is a (weak) fix
    plain = History()
    sha = plain.add("Avoid recomputing the cache key", [src()])
    assert plain.labels()[sha].fix


# -- Conventional Commits ---------------------------------------------------------------------------
def test_conventional_commits_are_taken_at_their_word_where_the_project_types_its_commits() -> None:
    h = History()
    for n in range(6):
        h.add(f"feat(cli): add option {n}", [src()])
    fix = h.add("fix(parser): reject trailing commas", [src()])
    chore = h.add("chore: correct crash in release script handling", [src()])
    deps = h.add("fix(deps): update dependency attrs to v23", [src("src/pkg/_vendor.py", 1, 1)])
    conventions = learn_conventions(h.commits)
    assert conventions.cc_trusted
    labels = classify_all(h.commits, conventions)
    assert labels[fix].fix and "'fix:'" in labels[fix].why[0] and labels[fix].rule == "conventional"
    assert not labels[chore].fix and labels[chore].kind is Kind.REFACTOR
    assert not labels[deps].fix and labels[deps].kind is Kind.DEPENDENCIES


def test_an_untyped_project_reads_fix_as_a_verb_and_other_types_as_tags() -> None:
    h = History()
    for n in range(6):
        h.add(f"Add option {n}", [src()])
    fix = h.add("fix: handle None in the loader", [src()])
    docs = h.add("docs: fix crash description in the FAQ", [src("src/pkg/core.py", 2, 2)])
    conventions = learn_conventions(h.commits)
    assert not conventions.cc_trusted
    labels = classify_all(h.commits, conventions)
    assert labels[fix].fix and labels[fix].rule == "fix-verb"
    assert not labels[docs].fix and labels[docs].kind is Kind.DOCS


# -- bots, reverts, releases ------------------------------------------------------------------------
def test_bots_never_fix() -> None:
    assert is_bot("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com")
    assert is_bot("renovate", "bot@renovateapp.com")
    assert not is_bot("Robert", "rob@example.com")
    h = History()
    bump = h.add(
        "Bump urllib3 from 1.26.4 to 1.26.5 (fixes a security bug)",
        {"requirements/tests.txt": (1, 1)},
        author=("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com"),
    )
    autofix = h.add(
        "[pre-commit.ci] auto fixes from pre-commit.com hooks",
        {f"src/pkg/m{i}.py": (1, 1) for i in range(6)},
        author=("pre-commit-ci[bot]", "66853113+pre-commit-ci[bot]@users.noreply.github.com"),
    )
    labels = h.labels()
    assert not labels[bump].fix and labels[bump].kind is Kind.DEPENDENCIES
    assert labels[bump].why == ("dependabot[bot] is a bot",)
    assert labels[autofix].bulk and not labels[autofix].fix


def test_a_revert_is_not_a_fix_but_a_squashed_branch_listing_one_is_judged_by_its_subject() -> None:
    h = History()
    revert = h.add('Revert "Fix crash in loader"\n\nThis reverts commit 0123456789abcdef.', [src()])
    squash = h.add(
        'fix(loader): keep group order (#991)\n\n* try a\n\n* Revert "try a"\n\nThis reverts commit 0123456.',
        [src()],
    )
    labels = h.labels()
    assert labels[revert].kind is Kind.REVERT and not labels[revert].fix
    assert labels[revert].why == ("reverts 0123456789ab",)
    assert labels[squash].fix


def test_a_release_step_is_a_release() -> None:
    h = History()
    sha = h.add("Bump version: 5.2.6 → 5.2.7", {"src/pkg/__init__.py": (1, 1), "setup.cfg": (1, 1)})
    assert h.labels()[sha].kind is Kind.RELEASE


# -- the subject ------------------------------------------------------------------------------------
def test_a_fix_verb_with_a_closing_trailer_is_a_fix() -> None:
    h = History()
    sha = h.add("Fix crash when the config file is empty\n\nFixes #12", [src()])
    label = h.labels()[sha]
    assert label.fix and label.certain
    assert label.why == ("subject 'Fix crash when the config file is empty' starts with a fix verb",
                         "and closes an issue ('fixes')")  # fmt: skip


def test_fix_words_in_the_body_of_a_feature_do_not_make_a_fix() -> None:
    h = History()
    sha = h.add("Add a --color option\n\nFixes #4416. This also fixes a bug report about\nwrong colours.", [src()])
    label = h.labels()[sha]
    assert not label.fix
    assert label.kind is Kind.FEATURE
    assert "does not make it a fix" in label.why[-1]


@pytest.mark.parametrize(
    ("subject", "kind"),
    [
        ("Fix typos in the tutorial", Kind.DOCS),
        ("Fix typing issues", Kind.STYLE),
        ("fix pyright findings", Kind.STYLE),
        ("Fixed formatting", Kind.STYLE),
        ("Fix flaky test_timeout", Kind.TESTS),
    ],
)
def test_a_fix_of_something_other_than_the_product_is_not_a_fix(subject: str, kind: Kind) -> None:
    h = History()
    sha = h.add(subject, [src("src/pkg/core.py", 2, 2)])
    label = h.labels()[sha]
    assert not label.fix
    assert label.kind is kind


def test_a_fix_of_the_products_formatting_is_a_fix() -> None:
    h = History()
    sha = h.add("Fix deprecated label formatting", [src()])
    assert h.labels()[sha].fix


def test_fix_and_add_a_test_is_still_a_fix() -> None:
    h = History()
    sha = h.add("Fix empty default handling and add regression tests", [src(), FileChange("tests/test_x.py", 9, 0)])
    assert h.labels()[sha].fix


def test_repair_verbs_and_symptoms_are_weak_fixes() -> None:
    h = History()
    repair = h.add("Don't install signal handlers outside the main thread", [src()])
    symptom = h.add("Deferred ack synloop bug", [src()])
    feature = h.add("Add crash reporting hooks", [src()])
    labels = h.labels()
    assert labels[repair].fix and labels[repair].rule == "repair-verb"
    assert labels[symptom].fix and not labels[symptom].certain
    assert not labels[feature].fix


# -- what a change touches --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("files", "kind", "where"),
    [
        ({"docs/usage.rst": (3, 1), "README.md": (1, 1)}, Kind.DOCS, "docs"),
        ({"tests/test_core.py": (9, 2), "tests/conftest.py": (1, 0)}, Kind.TESTS, "tests"),
        ({".github/workflows/ci.yml": (4, 4)}, Kind.BUILD, "CI and repository settings"),
        ({"requirements/dev.txt": (2, 2)}, Kind.DEPENDENCIES, "dependency pins"),
    ],
)
def test_a_change_that_touches_no_product_file_is_never_a_fix(
    files: dict[str, tuple[int, int]], kind: Kind, where: str
) -> None:
    h = History()
    sha = h.add("Fix crash when running on Windows", files)
    label = h.labels()[sha]
    assert not label.fix
    assert label.kind is kind
    assert label.why == (f"touches only {where}",)


def test_test_folders_are_learned_from_test_module_names() -> None:
    h = History()
    h.add("Initial", {f"t/unit/test_m{i}.py": (5, 0) for i in range(6)} | {"celery/app.py": (9, 0)})
    sha = h.add("Fix the broken worker test", {"t/unit/test_m1.py": (2, 2), "t/integration/tasks.py": (1, 1)})
    conventions = learn_conventions(h.commits)
    assert conventions.test_roots == ("t",)
    assert "tests also live in: t/" in conventions.describe()
    assert classify_all(h.commits, conventions)[sha].kind is Kind.TESTS


# -- bulk sweeps ------------------------------------------------------------------------------------
def test_an_announced_sweep_of_small_edits_is_bulk_and_not_a_fix() -> None:
    h = History()
    sha = h.add("Fix typos", {f"src/pkg/m{i}.py": (1, 1) for i in range(6)})
    label = h.labels()[sha]
    assert label.bulk and not label.fix and label.kind is Kind.BULK
    assert "announces a sweep" in label.why[0]


def test_the_same_tiny_edit_in_many_files_is_bulk_without_words() -> None:
    h = History()
    sha = h.add("Tidy", {f"src/pkg/m{i}.py": (2, 2) for i in range(12)})
    assert h.labels()[sha].bulk


def test_a_wide_change_with_real_churn_is_not_bulk() -> None:
    h = History()
    sha = h.add("Fix typos and rework the scheduler", {f"src/pkg/m{i}.py": (40, 25) for i in range(6)})
    assert not h.labels()[sha].bulk


def test_four_files_are_too_few_for_a_sweep() -> None:
    h = History()
    sha = h.add("Fix typos", {f"src/pkg/m{i}.py": (1, 1) for i in range(4)})
    assert not h.labels()[sha].bulk


def test_a_hook_update_with_its_autofixes_is_bulk() -> None:
    h = History()
    files = {".pre-commit-config.yaml": (3, 3), "requirements/dev.txt": (20, 20), "requirements/docs.txt": (5, 5),
             "src/pkg/a.py": (0, 1), "src/pkg/b.py": (1, 1)}  # fmt: skip
    sha = h.add("update requirements", files)
    assert h.labels()[sha].bulk


def test_blame_ignore_revs_are_bulk() -> None:
    h = History()
    sha = h.add("Fix crash in parser", [src()])
    label = h.labels(blame_ignore_revs=[sha])[sha]
    assert label.bulk and not label.fix
    assert label.why == ("listed in .git-blame-ignore-revs",)


# -- corrections ------------------------------------------------------------------------------------
def test_corrections_override_the_rules() -> None:
    h = History()
    silent = h.add("Rework the token reader", [src()])
    fix = h.add("Fix crash in parser", [src()])
    sweep = h.add("Fix typos", {f"src/pkg/m{i}.py": (1, 1) for i in range(6)})
    conventions = learn_conventions(h.commits)
    labels = classify_all(h.commits, conventions, {silent: {"fix": True}, fix: {"bulk": True}, sweep: {"fix": True}})
    assert labels[silent].fix and labels[silent].kind is Kind.FIX and labels[silent].why[-1] == CORRECTED
    assert labels[fix].bulk and not labels[fix].fix  # bulk never counts as a fix
    assert labels[sweep].fix and not labels[sweep].bulk  # the team calls it a fix: not a sweep
    uncorrected = classify_all(h.commits, conventions, {fix: {"fix": False}})
    assert not uncorrected[fix].fix and uncorrected[fix].kind is not Kind.FIX


# -- context for silent subjects --------------------------------------------------------------------
def test_a_pull_request_branch_named_fix_lends_its_intent(repo: RepoBuilder) -> None:
    repo.commit("Initial", {"src/pkg/core.py": "x = 1\n"})
    repo.branch("andy/fix-trailing-blanks")
    silent = repo.commit("boolean type strips space before converting", {"src/pkg/core.py": "x = 2\n"})
    repo.checkout("main")
    repo.merge("andy/fix-trailing-blanks", "Merge pull request #1606 from andy/fix-trailing-blanks")
    repo.branch("bob/colors")
    other = repo.commit("colour output follows the terminal", {"src/pkg/core.py": "x = 3\n"})
    repo.checkout("main")
    repo.merge("bob/colors", "Merge pull request #1607 from bob/colors")
    facts = facts_of(repo.path)
    labels = classify_all(facts, learn_conventions(facts))
    assert labels[silent].fix and labels[silent].rule == "pr-branch"
    assert not labels[other].fix


def test_a_maintenance_branch_merge_lends_weak_fix_evidence(repo: RepoBuilder) -> None:
    repo.commit("Initial", {"src/pkg/core.py": "x = 1\n"})
    repo.branch("1.2.x")
    silent = repo.commit("close the pager's temp file", {"src/pkg/core.py": "x = 2\n"})
    repo.checkout("main")
    repo.commit("Add a pager option", {"src/pkg/pager.py": "y = 1\n"})
    repo.merge("1.2.x", "Merge branch '1.2.x'")
    facts = facts_of(repo.path)
    label = classify_all(facts, learn_conventions(facts))[silent]
    assert label.fix and not label.certain and label.rule == "maintenance"


def test_a_patch_release_lends_weak_fix_evidence_to_silent_commits() -> None:
    h = History()
    in_patch = h.add("close the pager's temp file", [src()])
    patch = h.add("release version 1.2.3", {"src/pkg/__init__.py": (1, 1)})
    in_minor = h.add("close the editor's temp file", [src()])
    minor = h.add("release version 1.3.0", {"src/pkg/__init__.py": (1, 1)})
    in_zero = h.add("close the socket early", [src()])
    zero = h.add("release", {"src/pkg/__init__.py": (1, 1)})
    tags = {patch: "1.2.3", minor: "v1.3.0", zero: "0.9.1"}
    labels = h.labels(release_tags=tags)
    assert labels[in_patch].fix and labels[in_patch].rule == "patch-release"
    assert not labels[in_minor].fix
    assert not labels[in_zero].fix  # semver 0.x: anything may change in any release
    assert not h.labels()[in_patch].fix  # without tags there is no such evidence


# -- merges, incremental use, conventions in words ---------------------------------------------------
def test_merges_are_never_fixes() -> None:
    h = History()
    base = h.add("Initial", [src()])
    branch = h.add("Fix crash in parser", [src()], parents=(base,))
    main = h.add("Add option", [src("src/pkg/cli.py")], parents=(base,))
    merge = h.add("Merge pull request #5 from bob/fix-crash\n\nFix crash in parser", [], parents=(main, branch))
    feature = h.add("Add a --json flag", [src("src/pkg/cli.py")], parents=(base,))
    untitled = h.add("Merge branch 'json'", [], parents=(merge, feature))
    labels = h.labels()
    assert labels[branch].fix
    assert not labels[merge].fix and labels[merge].rule == "merge"
    assert labels[merge].kind is Kind.FIX and labels[merge].why[0] == "merge titled 'Fix crash in parser'"
    assert not labels[untitled].fix and labels[untitled].kind is Kind.FEATURE  # what it brings in


def test_incremental_classification_matches_a_full_pass(fragment_repo: RepoBuilder) -> None:
    repo = fragment_repo
    known_head = repo.head()
    repo.branch("bob/parser")
    code_only = repo.commit("Rework how the parser reads tokens", {"src/pkg/core.py": "x = 'reworked'\n"})
    repo.commit("Add changelog entry", {"changelog/77.bugfix.rst": "p\n"})
    repo.checkout("main")
    repo.merge("bob/parser", "Merge pull request #77 from bob/parser")
    repo.commit("Fix crash in the CLI", {"src/pkg/cli.py": "z = 1\n", "changelog/80.bugfix.rst": "c\n"})
    facts = facts_of(repo.path)
    conventions = learn_conventions(facts)
    full = classify_all(facts, conventions)
    cut = next(i for i, c in enumerate(facts) if c.sha == known_head) + 1
    classifier = Classifier(conventions)
    first = classifier.classify(facts[:cut])
    rest = classifier.classify(facts[cut:])
    assert set(first).isdisjoint(rest) and set(first) | set(rest) == set(full)
    assert {sha: (lab.fix, lab.why) for sha, lab in rest.items()} == {
        c.sha: (full[c.sha].fix, full[c.sha].why) for c in facts[cut:]
    }
    assert rest[code_only].why == ("its pull request adds changelog/77.bugfix.rst",)


def test_describe_says_what_was_learned() -> None:
    h = History()
    with_fragment_history(h)
    h.add("Bump x", {"requirements.txt": (1, 1)}, author=("dependabot[bot]", "1+dependabot[bot]@users.noreply"))
    conventions = learn_conventions(h.commits, blame_ignore_revs=["a" * 40])
    text = "\n".join(conventions.describe())
    assert "changelog fragments in changelog/ (feature 4, bugfix 1); bug-fix types: bugfix" in text
    assert "dependabot[bot] (1)" in text
    assert "1 revisions listed in .git-blame-ignore-revs" in text
    assert Conventions().describe()[0] == "no changelog-fragment folder"


def test_labels_of_a_history_of_twenty_thousand_commits_take_about_a_second() -> None:
    h = History()
    subjects = ["Fix crash in parser", "Add option", "Refactor loader", "Update docs", "Fix typos"]
    for i in range(20_000):
        files = [src(f"src/pkg/m{i % 97}.py"), FileChange(f"tests/test_m{i % 89}.py", 3, 1)]
        if i % 7 == 0:
            files.append(FileChange(f"changelog/{i}.bugfix.rst", 1, 0, new=True))
        h.add(subjects[i % 5] + f" {i}", files)
    start = time.perf_counter()
    labels = h.labels()
    elapsed = time.perf_counter() - start
    assert len(labels) == 20_000
    assert elapsed < 6.0, f"{elapsed:.1f} s"


def test_the_package_imports_nothing_else_from_empathy() -> None:
    package = Path(labels_pkg.__file__).parent

    def imported(tree: ast.Module) -> Iterator[str]:
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                yield node.module
            elif isinstance(node, ast.Import):
                yield from (alias.name for alias in node.names)

    for module in package.glob("*.py"):
        for name in imported(ast.parse(module.read_text())):
            if name.startswith("empathy"):
                assert name.startswith("empathy.core.labels") or name == "empathy.core.errors", (module, name)
