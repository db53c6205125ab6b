"""Network connectors: one module per network, each importing its own client library lazily.

The core finds them through ``social_watch.registry``; third parties register more through
the ``social_watch.connectors`` entry point group.
"""
