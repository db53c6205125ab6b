"""Filler words that are never a rising term or an alert term, in every shop language.

One list (``data/stopwords.txt``) for the digest's rising terms and the spike alert's terms,
so both skip the same words; ``brand_words`` adds the brand's own name, handles and keywords,
which are in nearly every mention and would otherwise top every list.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from social_watch.config import Config

_WORD = re.compile(r"[^\W\d_]{3,}(?:['’][^\W\d_]+)?")


@cache
def stopwords() -> frozenset[str]:
    text = (resources.files("social_watch") / "data" / "stopwords.txt").read_text("utf-8")
    words: set[str] = set()
    for line in text.splitlines():
        words.update(line.split("#", 1)[0].casefold().split())
    return frozenset(words)


def brand_words(config: Config) -> frozenset[str]:
    """The words of the brand's name, its handles and its keywords (case-folded)."""
    names = [config.brand_name, *config.raw["brand"]["keywords"]]
    for handle in config.brand_handles.values():
        names += handle if isinstance(handle, list) else [str(handle)]
    out: set[str] = set()
    for name in names:
        out.update(_WORD.findall(str(name).casefold()))
        joined = "".join(_WORD.findall(str(name).casefold()))
        if joined:
            out.add(joined)  # "Shop Example" is also written "shopexample"
    return frozenset(out)
