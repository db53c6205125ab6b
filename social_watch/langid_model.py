"""py3langid's model restricted to the languages social-watch tells apart, loaded cheaply.

py3langid ships its model as an xz-compressed NumPy archive (4.5 MB, 68 MB unpacked);
unpacking it takes about 0.45 s of CPU every time a process first detects a language: at
every ``import``, every cron ``poll``, every ``watch`` start. So the restricted model (the
columns of the languages asked for, ~50 MB) is kept once, unpacked, in the user's cache
directory (``$XDG_CACHE_HOME/social-watch``, else ``~/.cache/social-watch``), and read
from there in about a tenth of the time. The cache is only ever an optimisation: a cache
that cannot be written (read-only home, full disk) or read (damaged, another layout) is
ignored and the model is unpacked as before; a new py3langid version or language list gets
its own file. Written to a temporary file and renamed, so two processes filling it at once
both end with a whole file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from array import array
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)

FORMAT = 1  # bump when what is written changes
KEEP = 2  # model files kept: this one and one other (a second install, the previous version)
CACHE_ENV = "SOCIAL_WATCH_CACHE_DIR"  # overrides the directory; "off" disables the cache


def cache_dir(env: Mapping[str, str] | None = None) -> Path | None:
    """Where the unpacked model is kept; None when the cache is switched off."""
    if env is None:
        env = os.environ
    configured = env.get(CACHE_ENV, "")
    if configured.lower() == "off":
        return None
    if configured:
        return Path(configured).expanduser()
    base = env.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the XDG spec: a relative value is ignored
        home = env.get("HOME") or str(Path.home())
        base = os.path.join(home, ".cache")
    return Path(base) / "social-watch"


def _cache_file(langid: Any, langs: Sequence[str], directory: Path) -> Path:
    model = Path(langid.MODEL_DIR) / langid.MODEL_FILE
    st = model.stat()
    key = f"{FORMAT}|{model}|{st.st_size}|{st.st_mtime_ns}|{','.join(sorted(langs))}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return directory / f"langid-{digest}.npz"


def load(langs: Sequence[str]) -> Any:
    """A ``py3langid`` ``LanguageIdentifier`` for ``langs`` (normalised probabilities)."""
    from py3langid import langid

    directory = cache_dir()
    cached = None if directory is None else _cache_file(langid, langs, directory)
    if cached is not None:
        try:
            with open(cached, "rb") as fh:
                return _from_npz(langid, fh, langs)[0]
        except FileNotFoundError:
            pass
        except Exception as exc:  # damaged or foreign: unpack again and replace it
            log.debug("ignoring the language model cache %s: %s", cached, exc)
    ident, out_feat = _unpacked(langid, langs)
    if cached is not None:
        _save(ident, out_feat, cached)
    return ident


def _unpacked(langid: Any, langs: Sequence[str]) -> tuple[Any, Any]:
    import lzma
    import shutil

    path = Path(langid.MODEL_DIR) / langid.MODEL_FILE
    with tempfile.TemporaryFile(suffix=".npz") as tmp:
        with lzma.open(path) as src:
            shutil.copyfileobj(src, tmp, length=1 << 20)
        tmp.seek(0)
        return _from_npz(langid, tmp, langs)


def _from_npz(langid: Any, fh: IO[bytes], langs: Sequence[str]) -> tuple[Any, Any]:
    """The identifier for ``langs`` from a model archive, and its output table (``_save``).

    py3langid's own loader holds its 39 MB state table twice (NumPy array and ``array``
    copy) and keeps the whole model beside the restricted one; here the table streams
    into the ``array`` and only the restricted columns are kept.
    """
    import numpy as np

    wanted = set(langs)
    with np.load(fh, allow_pickle=False) as data:
        classes = data["classes"].tolist()
        keep = [i for i, c in enumerate(classes) if c in wanted]
        if not keep:
            raise ValueError("none of the languages is in the model")
        ptc = np.asarray(data["ptc"][:, keep]) if len(keep) < len(classes) else data["ptc"]
        pc = np.asarray(data["pc"][keep])
        row = array("H" if data["nextmove_row"].dtype.itemsize == 2 else "I")
        row.frombytes(np.ascontiguousarray(data["nextmove_row"]).tobytes())
        out_feat = data["out_feat"]
        with data.zip.open("nextmove.npy") as f:
            version = np.lib.format.read_magic(f)
            fmt = np.lib.format
            read_header = (
                fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            )
            shape, fortran, dtype = read_header(f)
            if fortran or len(shape) != 1 or dtype.kind != "u" or dtype.byteorder == ">":
                raise ValueError("unexpected state table layout")
            nextmove = array({2: "H", 4: "I", 8: "L"}[dtype.itemsize])
            if nextmove.itemsize != dtype.itemsize:
                raise ValueError("unexpected state table item size")
            while chunk := f.read(1 << 20):
                nextmove.frombytes(chunk)
            if len(nextmove) != shape[0]:
                raise ValueError("truncated state table")
    ident = langid.LanguageIdentifier(
        ptc,
        pc,
        [classes[i] for i in keep],
        nextmove,
        out_feat.tolist(),
        norm_probs=True,
        tk_row=row,
    )
    # set_languages keeps the full model to reset to; nothing here resets
    ident._full_model = (ident.nb_ptc, ident.nb_pc, ident.nb_classes)
    return ident, out_feat


def _save(ident: Any, out_feat: Any, path: Path) -> None:
    """Write the restricted model to ``path`` (atomically); any failure only logs.

    The archive is written member by member in 1 MB pieces: ``numpy.savez`` would buffer
    16 MB at a time, on top of an import's peak memory.
    """
    import zipfile

    import numpy as np

    arrays = {
        "ptc": ident.nb_ptc,
        "pc": ident.nb_pc,
        "classes": np.array(ident.nb_classes),
        "nextmove": np.frombuffer(ident.tk_nextmove, dtype=f"u{ident.tk_nextmove.itemsize}"),
        "nextmove_row": np.frombuffer(ident.tk_row, dtype=f"u{ident.tk_row.itemsize}"),
        "out_feat": out_feat,
    }
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".langid-", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as zf:
            for name, value in arrays.items():
                # a column subset is in Fortran order: written so, not copied
                fortran = value.flags.f_contiguous and not value.flags.c_contiguous
                arr = value if fortran else np.ascontiguousarray(value)
                with zf.open(f"{name}.npy", "w", force_zip64=True) as out:
                    header = np.lib.format.header_data_from_array_1_0(arr)
                    np.lib.format.write_array_header_1_0(out, header)
                    data = memoryview(arr.T if fortran else arr).cast("B")  # type: ignore[arg-type]
                    for start in range(0, len(data), 1 << 20):
                        out.write(data[start : start + (1 << 20)])
        os.replace(tmp, path)
        tmp = None
        _prune(path)
    except Exception as exc:
        log.debug("could not write the language model cache %s: %s", path, exc)
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def _prune(written: Path) -> None:
    """Remove all but the ``KEEP`` newest model files: each py3langid upgrade (or language
    list) writes a new ~50 MB file, and the old ones would stay forever."""
    files = sorted(
        written.parent.glob("langid-*.npz"), key=lambda f: f.stat().st_mtime_ns, reverse=True
    )
    for old in files[KEEP:]:
        if old != written:
            old.unlink(missing_ok=True)
