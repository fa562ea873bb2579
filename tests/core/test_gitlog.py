"""The streamed ``git log -z --numstat`` parser, on real git output and on synthetic streams."""

from __future__ import annotations

import itertools
import os
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from empathy.core.history.gitlog import (
    LOG_ARGS,
    RECORD_MARK,
    CommitRecord,
    FileChange,
    parse_log_stream,
)
from tests.gitrepo import RepoBuilder, plain_numstat


def git_bytes(path: Path, *args: str | bytes) -> bytes:
    return subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True).stdout


#: The ingest's own arguments, less ``--summary``: these tests check the numstat
#: records (``created`` stays False); the create-mode lines are tested on their own.
NUMSTAT_LOG_ARGS = [a for a in LOG_ARGS if a != "--summary"]


def raw_log(path: Path, rev: str = "HEAD") -> bytes:
    return git_bytes(path, "log", *NUMSTAT_LOG_ARGS, rev, "--")


def parse_all(data: bytes) -> list[CommitRecord]:
    return list(parse_log_stream([data]))


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(points)]


def commit_bytes(repo: RepoBuilder, message: bytes, *extra: str) -> str:
    """Commit the index with a raw-bytes message (``git commit -F``)."""
    msg_file = repo.path.parent / "msg.bin"
    msg_file.write_bytes(message)
    repo.git_repo.git.add("-A")
    subprocess.run(
        ["git", "-C", str(repo.path), *extra, "commit", "-q", "--allow-empty", "-F", str(msg_file)],
        check=True,
        capture_output=True,
    )
    return repo.head()


def commit_raw_object(repo: RepoBuilder, message: bytes, author: bytes = b"Alice <alice@example.com>") -> str:
    """Write a commit object byte for byte (``git commit`` would re-encode a bad message)."""
    repo.git_repo.git.add("-A")
    tree = git_bytes(repo.path, "write-tree").strip()
    parent = git_bytes(repo.path, "rev-parse", "HEAD").strip()
    body = (
        b"tree " + tree + b"\nparent " + parent + b"\nauthor " + author + b" 1600000000 +0000\n"
        b"committer " + author + b" 1600000000 +0000\n\n" + message
    )
    sha = (
        subprocess.run(
            ["git", "-C", str(repo.path), "hash-object", "-t", "commit", "-w", "--stdin", "--literally"],
            input=body,
            check=True,
            capture_output=True,
        )
        .stdout.decode()
        .strip()
    )
    git_bytes(repo.path, "update-ref", "HEAD", sha)
    return sha


# ---------------------------------------------------------------------------
# A real repository with every odd case, built once for the module.


@pytest.fixture(scope="module")
def odd_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[RepoBuilder, dict[str, str]]:
    r = RepoBuilder(tmp_path_factory.mktemp("odd") / "repo")
    shas: dict[str, str] = {}
    lines = "".join(f"line {i}\n" for i in range(20))
    shas["initial"] = r.commit("initial", {"a.py": lines, "src/b.py": "x = 1\n", "keep.txt": "k\n"})
    shas["empty1"] = r.commit("nothing here", allow_empty=True)
    shas["empty2"] = r.commit("nothing again", allow_empty=True)
    shas["binary"] = r.commit("add binary", {"img.bin": bytes(range(256)) * 4})
    shas["rename"] = r.rename("a.py", "lib/renamed.py", files={"lib/renamed.py": lines + "extra\n"})
    shas["rename_dir"] = r.rename("src/b.py", "b.py")
    shas["binary_mod"] = r.commit("change binary", {"img.bin": bytes(range(255, -1, -1)) * 4})
    r.write(b"caf\xe9.py", "print('latin-1 name')\n")
    shas["bad_path"] = commit_bytes(r, b"add a file whose name is not UTF-8\n")
    r.write("keep.txt", "k\nk2\n")
    shas["bad_msg"] = commit_raw_object(
        r, b"caf\xe9 \xff\xfe raw bytes\n\nbody \xc3\x28\n", author=b"Jos\xe9 <jos\xe9@example.com>"
    )
    r.write("keep.txt", "k\nk2\nk3\n")
    shas["latin1_msg"] = commit_bytes(r, "décor latin-1\n".encode("latin-1"), "-c", "i18n.commitEncoding=ISO-8859-1")
    r.branch("side")
    shas["side"] = r.commit("side work", {"side.py": "s = 1\n"})
    r.checkout("main")
    shas["main2"] = r.commit("main work", {"keep.txt": "k\n"})
    shas["merge"] = r.merge("side")
    shas["tail"] = r.commit("tabs\tand\nnewlines in message", {"tab\tname.txt": "t\n"})
    return r, shas


@pytest.fixture(scope="module")
def odd_log(odd_repo: tuple[RepoBuilder, dict[str, str]]) -> bytes:
    return raw_log(odd_repo[0].path)


@pytest.fixture(scope="module")
def odd_parsed(odd_log: bytes) -> dict[str, CommitRecord]:
    return {c.sha: c for c in parse_all(odd_log)}


def test_commits_and_order_match_git(odd_repo, odd_log) -> None:
    r, _ = odd_repo
    expected = git_bytes(r.path, "rev-list", "--reverse", "--topo-order", "HEAD").decode().split()
    parsed = parse_all(odd_log)
    assert [c.sha for c in parsed] == expected
    for c in parsed:
        git_parents = git_bytes(r.path, "rev-list", "--parents", "-n1", c.sha).decode().split()[1:]
        assert c.parents == git_parents


def test_counts_match_git_plain_numstat(odd_repo, odd_parsed) -> None:
    """For every commit with ASCII paths, the parsed numstat equals git's non -z numstat."""
    r, shas = odd_repo
    plain = plain_numstat(r.path)
    checked = 0
    for sha, changes in plain.items():
        if sha in (shas["bad_path"], shas["tail"]):  # quoted paths in non -z output
            continue
        got = [(c.path, c.added, c.deleted) for c in odd_parsed[sha].changes]
        assert sorted(got, key=str) == sorted(changes, key=str), sha
        checked += 1
    assert checked >= 10


def test_header_fields(odd_repo, odd_parsed) -> None:
    r, shas = odd_repo
    c = odd_parsed[shas["initial"]]
    assert (c.author_name, c.author_email) == ("Alice", "alice@example.com")
    at = int(git_bytes(r.path, "log", "-1", "--format=%at", shas["initial"]))
    assert c.authored_at == c.committed_at == at
    assert c.message == "initial" and c.subject == "initial"
    assert c.parents == [] and not c.is_merge
    tail = odd_parsed[shas["tail"]]
    assert tail.message == "tabs\tand\nnewlines in message"
    assert tail.subject == "tabs\tand"


def test_empty_commits_have_no_changes_and_do_not_swallow_neighbours(odd_repo, odd_parsed) -> None:
    _, shas = odd_repo
    assert odd_parsed[shas["empty1"]].changes == []
    assert odd_parsed[shas["empty2"]].changes == []
    assert odd_parsed[shas["empty2"]].message == "nothing again"
    assert [ch.path for ch in odd_parsed[shas["initial"]].changes] == ["a.py", "keep.txt", "src/b.py"]
    assert [ch.path for ch in odd_parsed[shas["binary"]].changes] == ["img.bin"]


def test_binary_changes_have_no_counts(odd_repo, odd_parsed) -> None:
    _, shas = odd_repo
    for key in ("binary", "binary_mod"):
        (ch,) = odd_parsed[shas[key]].changes
        assert ch == FileChange("img.bin", None, None)
        assert ch.is_binary


def test_renames_in_z_format(odd_repo, odd_parsed) -> None:
    _, shas = odd_repo
    (ch,) = odd_parsed[shas["rename"]].changes
    assert ch == FileChange("lib/renamed.py", 1, 0, old_path="a.py")
    (ch,) = odd_parsed[shas["rename_dir"]].changes
    assert ch == FileChange("b.py", 0, 0, old_path="src/b.py")
    assert not ch.is_binary


def test_tab_in_path(odd_repo, odd_parsed) -> None:
    _, shas = odd_repo
    assert odd_parsed[shas["tail"]].changes == [FileChange("tab\tname.txt", 1, 0)]


def test_merge_has_parents_and_no_changes(odd_repo, odd_parsed) -> None:
    _, shas = odd_repo
    merge = odd_parsed[shas["merge"]]
    assert merge.is_merge
    assert merge.parents == [shas["main2"], shas["side"]]
    assert merge.changes == []


def test_non_utf8_path_is_decoded_with_replacement(odd_repo, odd_parsed) -> None:
    _, shas = odd_repo
    (ch,) = odd_parsed[shas["bad_path"]].changes
    assert ch.path == b"caf\xe9.py".decode("utf-8", "backslashreplace")
    assert ch.path.startswith("caf") and ch.path.endswith(".py")
    ch.path.encode("utf-8")  # no lone surrogates: storable in PostgreSQL text
    assert (ch.added, ch.deleted) == (1, 0)


def test_non_utf8_message_is_decoded_with_replacement(odd_repo, odd_parsed) -> None:
    _, shas = odd_repo
    c = odd_parsed[shas["bad_msg"]]
    expected = b"caf\xe9 \xff\xfe raw bytes\n\nbody \xc3\x28".decode("utf-8", "backslashreplace")
    assert c.message == expected
    c.message.encode("utf-8")
    assert c.author_name == "Jos\\xe9" and c.author_email == "jos\\xe9@example.com"
    assert c.changes == [FileChange("keep.txt", 1, 0)]


def test_declared_latin1_message_is_reencoded(odd_repo, odd_parsed) -> None:
    _, shas = odd_repo
    assert odd_parsed[shas["latin1_msg"]].message == "décor latin-1"


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_real_log_split_anywhere_parses_identically(odd_log: bytes, odd_parsed, data) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(odd_log)), max_size=40))
    chunks = split_at(odd_log, cuts)
    assert b"".join(chunks) == odd_log
    assert list(parse_log_stream(iter(chunks))) == list(odd_parsed.values())


def test_real_log_byte_by_byte(odd_log: bytes, odd_parsed) -> None:
    """The worst split: every byte its own chunk (record mark split every way)."""
    chunks = [odd_log[i : i + 1] for i in range(len(odd_log))]
    assert list(parse_log_stream(chunks)) == list(odd_parsed.values())


def test_records_are_yielded_while_streaming() -> None:
    """A record is produced as soon as the next record mark arrives (no full buffering)."""
    rec = RECORD_MARK + b"a" * 40 + b"\x1f\x1fN\x1fE\x1f1\x1f2\x1fmsg\n\x1f\x00\n1\t2\tf.py\x00"
    seen: list[int] = []

    def chunks():
        for i in range(3):
            seen.append(i)
            yield rec

    out = []
    for record in parse_log_stream(chunks()):
        out.append((record.sha, len(seen)))
    # the first record is complete once the second chunk (its mark) has been read
    assert [n for _, n in out] == [2, 3, 3]


# ---------------------------------------------------------------------------
# Synthetic streams: exactly git's framing, arbitrary content.

_hex = st.text(alphabet="0123456789abcdef", min_size=40, max_size=40)
# Header fields may hold any byte except NUL and the framing bytes.
_field = st.binary(max_size=30).filter(lambda b: not set(b) & {0x00, 0x1F, 0x1E})
# (a path holding the three-byte record mark itself is the documented framing limit)
_path = st.binary(min_size=1, max_size=30).filter(lambda b: 0 not in b and RECORD_MARK not in b)
_count = st.integers(0, 10**7)


@st.composite
def _change(draw):
    binary = draw(st.booleans())
    added, deleted = (None, None) if binary else (draw(_count), draw(_count))
    old = draw(st.one_of(st.none(), _path))
    return (old, draw(_path), added, deleted)


@st.composite
def _record(draw):
    return {
        "sha": draw(_hex),
        "parents": draw(st.lists(_hex, max_size=3)),
        "name": draw(_field),
        "email": draw(_field),
        "at": draw(st.integers(0, 2**40)),
        "ct": draw(st.integers(0, 2**40)),
        "message": draw(_field),
        "changes": draw(st.lists(_change(), max_size=6)),
    }


def encode(rec: dict) -> bytes:
    """Serialise like ``git log -z --numstat --format=LOG_FORMAT`` does (see the real fixture)."""
    out = bytearray(RECORD_MARK)
    out += b"\x1f".join(
        [
            rec["sha"].encode(),
            " ".join(rec["parents"]).encode(),
            rec["name"],
            rec["email"],
            str(rec["at"]).encode(),
            str(rec["ct"]).encode(),
            rec["message"] + b"\n",
        ]
    )
    out += b"\x1f\x00"
    if rec["changes"]:
        out += b"\n"
    for old, new, added, deleted in rec["changes"]:
        out += b"-\t-" if added is None else f"{added}\t{deleted}".encode()
        out += b"\t" + new + b"\x00" if old is None else b"\t\x00" + old + b"\x00" + new + b"\x00"
    return bytes(out)


def expected_record(rec: dict) -> CommitRecord:
    def t(b: bytes) -> str:
        return b.decode("utf-8", "backslashreplace")

    return CommitRecord(
        sha=rec["sha"],
        parents=rec["parents"],
        author_name=t(rec["name"]),
        author_email=t(rec["email"]),
        authored_at=rec["at"],
        committed_at=rec["ct"],
        message=t(rec["message"] + b"\n").rstrip("\n"),
        changes=[
            FileChange(t(new), a, d, old_path=None if old is None else t(old)) for old, new, a, d in rec["changes"]
        ],
    )


def test_encoder_matches_real_git(odd_log: bytes) -> None:
    """The synthetic framing is git's: re-encoding a real record reproduces its bytes."""
    first = odd_log[: odd_log.index(RECORD_MARK, 1)]
    parts = first[len(RECORD_MARK) :].split(b"\x1f")
    rec = {
        "sha": parts[0].decode(),
        "parents": parts[1].decode().split(),
        "name": parts[2],
        "email": parts[3],
        "at": int(parts[4]),
        "ct": int(parts[5]),
        "message": parts[6][:-1],
        "changes": [(None, b"a.py", 20, 0), (None, b"keep.txt", 1, 0), (None, b"src/b.py", 1, 0)],
    }
    assert encode(rec) == first


@settings(max_examples=300, deadline=None, database=None)
@given(records=st.lists(_record(), max_size=6), data=st.data())
def test_synthetic_stream_any_split(records, data) -> None:
    stream = b"".join(encode(r) for r in records)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=20))
    parsed = list(parse_log_stream(split_at(stream, cuts)))
    assert parsed == [expected_record(r) for r in records]


def test_empty_stream() -> None:
    assert list(parse_log_stream([])) == []
    assert list(parse_log_stream([b"", b""])) == []


def test_huge_commit_parses_all_files_quickly() -> None:
    n = 20_000
    rec = {
        "sha": "f" * 40,
        "parents": ["e" * 40],
        "name": b"Big",
        "email": b"big@example.com",
        "at": 1,
        "ct": 2,
        "message": b"vendor everything",
        "changes": [
            (
                (f"old/dir{i % 97}/file{i}.py".encode() if i % 10 == 0 else None),
                f"vendor/dir{i % 97}/file{i}.py".encode(),
                (None if i % 50 == 0 else i),
                i % 7,
            )
            for i in range(n)
        ],
    }
    stream = encode(rec) + encode({**rec, "sha": "1" * 40, "changes": [(None, b"x", 1, 1)]})
    chunk = 4096
    started = time.perf_counter()
    parsed = list(parse_log_stream(stream[i : i + chunk] for i in range(0, len(stream), chunk)))
    elapsed = time.perf_counter() - started
    assert [c.sha for c in parsed] == ["f" * 40, "1" * 40]
    big = parsed[0]
    assert len(big.changes) == n
    assert big.changes[123].path == "vendor/dir26/file123.py"
    assert big.changes[120].old_path == "old/dir23/file120.py"
    assert sum(1 for c in big.changes if c.is_binary) == n // 50
    assert sum(1 for c in big.changes if c.old_path) == n // 10
    assert parsed[1].changes == [FileChange("x", 1, 1)]
    assert elapsed < 5.0, f"20,000-file record took {elapsed:.2f}s"


def test_huge_commit_from_real_git(tmp_path: Path) -> None:
    """A real 3,000-file commit: every file is parsed, in git's order."""
    r = RepoBuilder(tmp_path / "big")
    for i in range(3000):
        r.write(f"d{i % 30}/f{i}.txt", f"{i}\n")
    r.commit("bulk")
    parsed = parse_all(raw_log(r.path))
    tracked = git_bytes(r.path, "ls-files", "-z").split(b"\0")
    assert len(parsed) == 1
    assert [c.path.encode() for c in parsed[0].changes] == [t for t in tracked if t]
    assert all((c.added, c.deleted) == (1, 0) for c in parsed[0].changes)


# ---------------------------------------------------------------------------
# Bugs


def test_message_with_unit_separator(tmp_path: Path) -> None:
    r = RepoBuilder(tmp_path / "r")
    r.write("a.txt", "a\n")
    sha = commit_bytes(r, b"subject \x1f with a unit separator\n")
    (c,) = parse_all(raw_log(r.path))
    assert c.sha == sha
    assert c.message == "subject \x1f with a unit separator"
    assert c.changes == [FileChange("a.txt", 1, 0)]


def test_fsdecode_name_roundtrip_sanity() -> None:
    """Guard for the non-UTF-8 fixtures above: the file system really holds raw bytes."""
    assert os.fsencode(os.fsdecode(b"caf\xe9.py")) == b"caf\xe9.py"
