"""The logger the core and the adapters write to: the standard library's logger of the service.

entry/observability.py makes it a Powertools JSON logger (same name), so every line the core writes is
formatted, correlated and levelled there; the core itself never imports Powertools.
"""

from __future__ import annotations

import logging

SERVICE = "profile-poller"

logger = logging.getLogger(SERVICE)
