"""How an author is named to people: the queue, a thread, the digest, a reply's greeting.

Most networks have @handles. A few do not, and showing their handle as one misleads:
Facebook's is a numeric app-scoped id (the person's name comes as ``from.name``), the
review portals' is the reviewer's display name ("Tereza Malá"), and an author a network
does not name at all (a Facebook comment without ``from``, an anonymous review) is
``ANONYMOUS``.
"""

from __future__ import annotations

NAMED_NETWORKS = frozenset({"facebook", "google_reviews", "heureka", "trustpilot"})
ANONYMOUS = "anonymous"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def author_label(network: str, handle: str, name: str | None) -> str:
    """How the queue names an author: ``@handle`` where the network has handles, else
    the display name (a Facebook author whose name the API withheld: ``id 2315…``).

    A handle that is already ``@name`` (YouTube's) is not given a second "@"; one with a
    space is a display name (an older YouTube channel) and shown as it is.
    """
    handle = handle or ""
    if network in NAMED_NETWORKS or handle.isdigit():
        if name and name.strip():
            return _one_line(name)
        return f"id {handle}" if handle.isdigit() else handle
    if " " in handle.strip():
        return _one_line(handle)
    return "@" + handle.lstrip("@")


def author_parts(network: str, handle: str, name: str | None) -> tuple[str, str]:
    """(what to call the author, a second line of identity or ""): "Jana Nováková" and
    "@jana_n" on X; just "Jana Nováková" on Facebook, where the other part is an id."""
    label = author_label(network, handle, name)
    named = name and name.strip() and _one_line(name)
    if not named or named == label:
        return label, ""
    return named, label
