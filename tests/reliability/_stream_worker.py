"""A worker process that tracks a numbered stream of events until it is killed or told to stop.

    python _stream_worker.py URL [--graceful-sigterm]

Prints ``tracked N`` every 10 events and once at the end. With
``--graceful-sigterm`` it installs the handler docs/reliability.md recommends:
SIGTERM ends the loop, and the normal interpreter exit drains the buffer.
"""

from __future__ import annotations

import signal
import sys
import threading

from ripples import Ripples

KEY = "priv_reliability_0123456789"


def main() -> None:
    url = sys.argv[1]
    stop = threading.Event()
    if "--graceful-sigterm" in sys.argv:
        signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    client = Ripples(KEY, base_url=url, flush_interval=0.1, max_queue_size=50)
    seq = 0
    while not stop.is_set() and seq < 1_000_000:
        client.track("stream", "user-stream", seq=seq)
        seq += 1
        if seq % 10 == 0:
            print(f"tracked {seq}", flush=True)
        stop.wait(0.0005)  # pacing: about 1,500 events/s
    print(f"tracked {seq}", flush=True)


if __name__ == "__main__":
    main()
