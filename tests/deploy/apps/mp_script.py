"""multiprocessing children that track events and end normally.

``python mp_script.py METHOD MODE RUN``: METHOD is fork, forkserver or spawn;
MODE is ``process`` (two ``Process`` objects, joined) or ``pool`` (a
``Pool`` of two, ``close()`` then ``join()``). Children of fork and
forkserver leave through ``os._exit`` (no atexit), pool workers too; the
SDK drains from multiprocessing's finalizers there. The parent tracks one
event before it forks, so a child that inherited its buffer would send it
again under a new ``$event_id``.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
from typing import Any

import ripples

#: Built at import, so spawn and forkserver children (which re-import this
#: module) get their own, and fork children inherit the parent's.
client = ripples.Ripples(flush_interval=60, shutdown_timeout=5)
EVENTS_PER_CHILD = 4


def work(task: tuple[str, int]) -> int:
    run, index = task
    client.track("child work", f"{run}-{index}", pid=os.getpid())
    return os.getpid()


def process_main(run: str, first: int) -> None:
    for index in range(first, first + EVENTS_PER_CHILD):
        work((run, index))


def main() -> None:
    method, mode, run = sys.argv[1:4]
    context: Any = multiprocessing.get_context(method)
    client.track("parent started", f"{run}-parent", pid=os.getpid())
    tasks = [(run, index) for index in range(2 * EVENTS_PER_CHILD)]
    if mode == "process":
        processes = [
            context.Process(target=process_main, args=(run, first))
            for first in range(0, len(tasks), EVENTS_PER_CHILD)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join(30)
        print("exitcodes", json.dumps([process.exitcode for process in processes]), flush=True)
    else:
        pool = context.Pool(2)
        pids = pool.map(work, tasks, chunksize=1)
        pool.close()
        pool.join()
        print("children", json.dumps(sorted(set(pids))), flush=True)


if __name__ == "__main__":
    main()
