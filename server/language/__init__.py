"""The languages Hearth speaks (PROTOCOL §7): which ones, how a request chooses one, and the
server's own words in each. Pure: nothing here touches sockets, Redis or the database."""

from .choice import DEFAULT_LANGUAGE, LANGUAGES, language_problem, preferred_language
from .localize import FrameLocalizer, localizer, translate

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "FrameLocalizer",
    "language_problem",
    "localizer",
    "preferred_language",
    "translate",
]
