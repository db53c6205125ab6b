"""social-watch: see every public mention of your brand and answer it within 30 minutes.

The package is a library first; ``social_watch.cli`` is one thin caller of it.
Importing the core never imports a network client library (tweepy, praw, httpx):
connectors in the top-level ``connectors`` package do that, lazily.
"""

__version__ = "0.1.0"
