"""The restricted py3langid model: unpacked, or read from the user's cache, it is the
stock model restricted to the same languages, and a bad cache never breaks detection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from py3langid import langid

from social_watch import langid_model, sentiment

LANGS = sentiment._LANGID_LANGS
TEXTS = (
    "meine Bestellung ist nicht angekommen",
    "objednávka stále nedorazila",
    "where is my parcel, ordered two weeks ago",
    "zamówienie nadal nie dotarło",
)


@pytest.fixture(scope="module")
def stock():
    ident = langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE, norm_probs=True)
    ident.set_languages(LANGS)
    return ident


def same_model(ident, stock) -> None:
    assert ident.nb_classes == stock.nb_classes
    assert np.array_equal(ident.nb_ptc, stock.nb_ptc)
    assert np.array_equal(ident.nb_pc, stock.nb_pc)
    assert ident.tk_nextmove == stock.tk_nextmove and ident.tk_row == stock.tk_row
    assert ident.tk_output == stock.tk_output
    for text in TEXTS:
        assert ident.classify(text) == stock.classify(text)


def cache_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("langid-*.npz"))


def test_without_a_cache_the_model_is_the_stock_one_restricted(monkeypatch, stock):
    monkeypatch.setenv(langid_model.CACHE_ENV, "off")
    same_model(langid_model.load(LANGS), stock)


def test_the_first_load_fills_the_cache_and_the_next_reads_it(tmp_path, monkeypatch, stock):
    monkeypatch.setenv(langid_model.CACHE_ENV, str(tmp_path / "cache"))
    same_model(langid_model.load(LANGS), stock)
    (written,) = cache_files(tmp_path / "cache")
    assert not list((tmp_path / "cache").glob(".langid-*"))  # no temporary file left

    def unpack(*args):
        raise AssertionError("unpacked again although the cache holds the model")

    monkeypatch.setattr(langid_model, "_unpacked", unpack)
    same_model(langid_model.load(LANGS), stock)
    assert cache_files(tmp_path / "cache") == [written]


def test_other_languages_get_their_own_file(tmp_path, monkeypatch):
    monkeypatch.setenv(langid_model.CACHE_ENV, str(tmp_path))
    few = langid_model.load(["en", "de", "cs"])
    assert sorted(few.nb_classes) == ["cs", "de", "en"]
    assert few.nb_ptc.shape[1] == 3
    langid_model.load(LANGS)
    assert len(cache_files(tmp_path)) == 2
    again = langid_model.load(["cs", "de", "en"])  # the same set, read back
    assert again.classify(TEXTS[0]) == few.classify(TEXTS[0])


def test_a_damaged_cache_file_is_unpacked_again_and_replaced(tmp_path, monkeypatch, stock):
    monkeypatch.setenv(langid_model.CACHE_ENV, str(tmp_path))
    langid_model.load(LANGS)
    (path,) = cache_files(tmp_path)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])  # a truncated file (a full disk, a copy)
    same_model(langid_model.load(LANGS), stock)
    assert path.read_bytes() == whole
    path.write_bytes(b"not a model at all")
    same_model(langid_model.load(LANGS), stock)
    assert path.read_bytes() == whole


def test_a_cache_that_cannot_be_written_only_costs_time(tmp_path, monkeypatch, stock):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory would go")
    monkeypatch.setenv(langid_model.CACHE_ENV, str(blocker / "cache"))
    same_model(langid_model.load(LANGS), stock)
    assert blocker.read_text() == "a file where the cache directory would go"


def test_where_the_cache_lives():
    assert langid_model.cache_dir({langid_model.CACHE_ENV: "OFF"}) is None
    assert langid_model.cache_dir({langid_model.CACHE_ENV: "/srv/c"}) == Path("/srv/c")
    xdg = {"XDG_CACHE_HOME": "/x/cache", "HOME": "/home/a"}
    assert langid_model.cache_dir(xdg) == Path("/x/cache/social-watch")
    # the XDG spec: a relative XDG_CACHE_HOME is ignored
    relative = {"XDG_CACHE_HOME": "cache", "HOME": "/home/a"}
    assert langid_model.cache_dir(relative) == Path("/home/a/.cache/social-watch")


def test_detection_uses_the_cache_between_processes(tmp_path, monkeypatch):
    """The command's process reads what an earlier one wrote (an import, then a poll)."""
    import subprocess
    import sys

    monkeypatch.setenv(langid_model.CACHE_ENV, str(tmp_path))
    code = (
        "from social_watch import langid_model, sentiment\n"
        "print(sentiment.detect_language('objednávka stále nedorazila, kde je můj balík'))\n"
    )
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() in ("cs", "sk")
    (path,) = cache_files(tmp_path)
    before = path.stat().st_mtime_ns
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert second.stdout == first.stdout
    assert path.stat().st_mtime_ns == before  # read, not rewritten


def test_old_model_files_are_removed_but_one(tmp_path, monkeypatch):
    """A py3langid upgrade writes a new file; the cache keeps it and one other, not all."""
    import os

    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv(langid_model.CACHE_ENV, str(cache))
    for age, name in enumerate(("langid-old1.npz", "langid-old2.npz", "langid-old3.npz")):
        stale = cache / name
        stale.write_bytes(b"an earlier version's model")
        os.utime(stale, ns=(10**18 + age, 10**18 + age))  # old3 is the newest of them
    (cache / "notes.txt").write_text("not ours")
    langid_model.load(LANGS)
    left = {p.name for p in cache.iterdir()}
    written = [n for n in left if n.startswith("langid-") and not n.startswith("langid-old")]
    assert len(written) == 1
    assert left == {written[0], "langid-old3.npz", "notes.txt"}
