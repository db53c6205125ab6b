"""``BrandIdentity.is_brand``: the precomputed local parts answer as the rule reads."""

from __future__ import annotations

import itertools

from social_watch.pipeline import BrandIdentity, _norm_handle


def by_the_rule(own: set[str], handle: str) -> bool:
    """The rule written out: same handle, or same local part unless both name an instance."""
    h = _norm_handle(handle)
    local = h.split("@", 1)[0]
    return h in own or any(
        o.split("@", 1)[0] == local and ("@" not in h or "@" not in o) for o in own
    )


def test_is_brand_follows_the_rule_for_every_form() -> None:
    parts = ["shop", "help", "shop@mastodon.social", "shop@other.example", "help@shop.example"]
    handles = [*parts, "@Shop", " SHOP@mastodon.social ", "shop@", "@shop@evil.example", ""]
    for size in range(4):
        for own in itertools.combinations(parts, size):
            brand = BrandIdentity({"mastodon": set(own)})
            for handle in handles:
                want = bool(own) and by_the_rule(set(own), handle)
                assert brand.is_brand("mastodon", handle) is want, (own, handle)
                assert brand.is_brand("x", handle) is False
