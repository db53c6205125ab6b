"""An import stores the same enrichment and queue rows as before the speed work (issue 16).

``tests/data/import_rows_main.json.gz`` holds, for a generated file of 3,000 mentions
(``bench/gen.py``: eight languages, reposts, copy-pasted texts, brand replies, threads),
the columns the care layer and the queue decide, as written by main at ``540ebb5`` (before
the enrichment cache, the leaner store and the index changes). The file is imported here
in one process and with the enrichment worker, and both must match it row for row.
Regenerated since only for deliberate scoring changes, each checked row by row: the damage
words ("ripped at the seam": one compound, -0.776 -> -1.0) and the closing thanks after a
complaint or a question (59 compounds, e.g. "charged twice ..., please fix thanks" -0.732
-> -1.0, "why is there a second payment ...? thanks" +0.044 -> 0.0); no label changed.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from bench.gen import CONFIG_TOML
from bench.gen import write_jsonl as gen_jsonl
from social_watch import config as cfg
from social_watch import ingest_file, parallel
from social_watch.store import deferred
from tests.helpers import NOW, open_db, pipeline

GOLDEN = Path(__file__).parent / "data" / "import_rows_main.json.gz"
COLUMNS = (
    "global_id, kind, lang, sentiment_label, sentiment_compound, tags, sensitive, "
    "sensitive_reasons, status, item_id, thread_key, due_at, created_at, sources, "
    "first_response_at, closed_at"
)


def import_rows(
    tmp_path: Path, workers: int, monkeypatch: pytest.MonkeyPatch, *, defer: bool = False
) -> list[list]:
    """The decided columns of every mention after importing the generated sample
    (``defer``: with the indexes ``store.deferred`` drops built at the end)."""
    sample = tmp_path / "sample.jsonl"
    gen_jsonl(sample, 3000, seed=16, days=5, now=NOW)
    conf_path = tmp_path / "social-watch.toml"
    conf_path.write_text(CONFIG_TOML, encoding="utf-8")
    monkeypatch.setattr(ingest_file, "BATCH_SIZE", 200)
    monkeypatch.setattr(parallel, "PARALLEL_AFTER", 400)
    config = cfg.load(str(conf_path), env={})
    db = open_db(tmp_path, f"w{workers}.db")
    dropped: list[list[str]] = []
    if defer:
        monkeypatch.setattr(deferred, "MIN_ROWS", 1000)  # the sample is ~3,000 mentions
        real = deferred.defer
        monkeypatch.setattr(deferred, "defer", lambda *a: dropped.append(real(*a)) or dropped[-1])
    ingest_file.run(db, config, str(sample), pipeline=pipeline(config), workers=workers)
    assert dropped == ([sorted(deferred.DEFERRABLE)] if defer else [])
    out = [list(r) for r in db.conn.execute(f"SELECT {COLUMNS} FROM mentions ORDER BY id")]
    out += [list(r) for r in db.conn.execute("SELECT mention_id, action, agent, at FROM actions")]
    return out


@pytest.mark.parametrize(("workers", "defer"), [(0, False), (1, False), (1, True)])
def test_an_import_stores_exactly_the_rows_main_stored(tmp_path, monkeypatch, workers, defer):
    if workers and not parallel.can_fork():
        pytest.skip("needs fork and two CPUs")
    expected = json.loads(gzip.decompress(GOLDEN.read_bytes()))
    got = json.loads(json.dumps(import_rows(tmp_path, workers, monkeypatch, defer=defer)))
    assert len(got) == len(expected) > 3000
    for row, want in zip(got, expected, strict=True):
        assert row == want
    labels = {r[3] for r in got[:3000]}
    assert {"positive", "negative", "neutral"} <= labels
    assert any(r[6] for r in got[:3000])  # some sensitive
