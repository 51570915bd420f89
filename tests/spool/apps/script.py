"""``script.py track N TAG``: track N revenue events, then wait to be killed.
``script.py recover``: flush once (which starts recovery), then wait until the spool is empty.

Prints one JSON line of the client's stats when it has something to say.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from pathlib import Path

from ripples import Ripples

client = Ripples(timeout=0.5, connect_timeout=0.5, max_retries=0, flush_interval=0.1)


def main() -> None:
    if sys.argv[1] == "track":
        count, tag = int(sys.argv[2]), sys.argv[3]
        for i in range(count):
            client.revenue(1.0, f"user_{tag}", transaction_id=f"{tag}_{i}")
        print("tracked", flush=True)
        time.sleep(600)  # until the test kills us
    else:
        client.flush(timeout=5)
        deadline = time.monotonic() + 60
        spool = Path(os.environ["RIPPLES_SPOOL_DIR"])
        while time.monotonic() < deadline:  # until no segment is left, by us or another process
            if client.stats().pending == 0 and not list(spool.rglob("*.seg")):
                break
            time.sleep(0.05)
        print(json.dumps(dataclasses.asdict(client.stats()), default=dict), flush=True)


if __name__ == "__main__":
    main()
