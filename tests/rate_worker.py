"""One worker of the shared-rate-budget test: the sandbox PostForMe client, as `--sandbox` builds it
(POSTDECK_SANDBOX_RATE_SCALE read from the environment), making COUNT calls on the one sandbox key.

    python -m tests.rate_worker POSTFORME_URL COUNT [--stop-at-429]

Prints `ready` once the client is built, waits for a line on stdin (so that every worker starts its
calls at the same moment), then makes its calls. A 429 is counted and the call made again (the
client has paused itself as the reply said: a whole second at PostForMe), or with --stop-at-429 the
worker stops there. Ends with one JSON line: {"ok": ..., "throttled": ..., "shared": ...}, `shared`
saying whether the client's budget was the machine's (a file in POSTDECK_RATE_DIR) to the end.
"""

from __future__ import annotations

import json
import sys

from postdeck.chain_factory import sandbox_links
from postdeck.core.platform import Platform
from postdeck.providers.errors import ProviderThrottled
from postdeck.sandbox.sandbox import SANDBOX_LATE_KEY, SANDBOX_POSTFORME_KEY


def main(url: str, count: int, *, stop_at_429: bool = False) -> None:
    links = sandbox_links(url, url + "/api", postforme_key=SANDBOX_POSTFORME_KEY, late_key=SANDBOX_LATE_KEY)
    client = links[0].provider
    print("ready", flush=True)
    sys.stdin.readline()
    ok = throttled = 0
    while ok < count:
        try:
            client.accounts(platform=Platform.BLUESKY)
            ok += 1
        except ProviderThrottled:
            throttled += 1
            if stop_at_429:
                break
    shared = getattr(client.limiter.store, "shared", False)
    for link in links:
        link.provider.close()
    print(json.dumps({"ok": ok, "throttled": throttled, "shared": shared}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), stop_at_429="--stop-at-429" in sys.argv[3:])
