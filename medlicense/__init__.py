"""Licensing of medical activity: the domain core (models, rules, fees, calendar, processing)."""

import sys

# httpx imports its command-line client, and with it rich, pygments and click, whenever
# they are installed (Prefect installs them): ~6 MiB in every worker process, which
# never runs that client.  A None entry makes that import fail, and httpx then skips
# its client, as it does when they are not installed.  Processes that load httpx first
# (or Prefect, which uses rich itself) are unaffected.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
