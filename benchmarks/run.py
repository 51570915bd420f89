"""Benchmarks: our client against posthog and segment, one command, one table.

    python benchmarks/run.py [--quick] [--only caller,throughput,...] [--json out.json]

Every SDK posts to the same local collector (``_peer_sink.PeerSink``, which
speaks all three endpoints); each measurement runs in a fresh process
(``_worker.py``), the SDKs are interleaved A/B/C within every repetition, and
figures are medians over repetitions, with paired ratios. Middleware and
collector figures come from the integration engineers' ``bench_*.py`` modules
when they are present. Issues 15 and 17 add one module per scenario, each with a
``section(b)``: ``bench_allin`` (all-in CPU per event, paced), ``bench_contention``
(8 threads on one client), ``bench_bufmem`` (bytes per buffered event) and
``bench_mwcpu`` (paired middleware CPU from /proc). See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _peer_sink import PeerSink  # noqa: E402
from _report import Targets, fmt_ratio, log, median_of, paired_ratio, table  # noqa: E402

PEERS = ("posthog", "segment")
OFFICIAL = "ripples 0.1.9"
OFFICIAL_VENV = Path(os.environ.get("RIPPLES_OFFICIAL_VENV", "/tmp/ripples-0.1.9-venv"))
SECTIONS = ("caller", "throughput", "outage", "memory", "middleware", "collector")
#: Issues 15 and 17: one module per scenario (bench_<name>.py, each with ``section(b)``).
NEW_SECTIONS = ("allin", "contention", "bufmem", "mwcpu")
LABELS = {
    "ripples": "ripples (ours)",
    "posthog": "posthog",
    "segment": "segment",
    OFFICIAL: OFFICIAL,
}


class Bench:
    """The state shared by the sections: options, collector, results and targets."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.quick: bool = args.quick
        self.reps: int = args.reps or (3 if args.quick else 5)
        self.targets = Targets()
        self.results: dict[str, Any] = {}
        self.versions: dict[str, str] = {}
        self.our_options: dict[str, Any] = {}
        self.official_python: Optional[str] = None
        self.only_sdks = {s.strip() for s in (args.sdks or "").split(",") if s.strip()}
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("RIPPLES_", "POSTHOG"))
        }

    def wanted(self, sdk: str) -> bool:
        """Whether ``--sdks`` keeps this SDK ("official" names the 0.1.9 client)."""
        if not self.only_sdks:
            return True
        return ("official" if sdk == OFFICIAL else sdk) in self.only_sdks

    # -- running one measurement -------------------------------------------------
    def _command(self, sdk: str, spec: dict[str, Any], script: str = "_worker.py") -> list[str]:
        python = sys.executable
        if sdk == OFFICIAL:
            assert self.official_python
            python, spec = self.official_python, {**spec, "sdk": "ripples"}
        else:
            spec = {**spec, "sdk": sdk}
        return [python, "-I", str(HERE / script), json.dumps(spec)]

    def worker(
        self,
        sdk: str,
        scenario: str,
        url: str,
        params: dict[str, Any],
        timeout: float = 180,
        script: str = "_worker.py",
    ) -> Optional[dict[str, Any]]:
        """Run one scenario in a fresh interpreter; its last stdout line is the result.

        ``script`` is the child's module in benchmarks/ (``_worker.py`` or a scenario module).
        """
        spec = {"scenario": scenario, "url": url, "params": params}
        try:
            done = subprocess.run(
                self._command(sdk, spec, script),
                capture_output=True,
                text=True,
                timeout=timeout,
                env=self.env,
                check=False,
            )
        except subprocess.TimeoutExpired:
            log(f"  ! {sdk} {scenario}: no result within {timeout:.0f} s")
            return None
        lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
        if done.returncode != 0 or not lines:
            log(f"  ! {sdk} {scenario} failed (rc={done.returncode}): {done.stderr[-800:]}")
            return None
        result: dict[str, Any] = json.loads(lines[-1])
        self.versions.setdefault(sdk, result.get("version", "?"))
        if sdk == "ripples" and result.get("options"):
            self.our_options = result["options"]
        return result

    def exit_time(self, sdk: str, url: str, params: dict[str, Any], cap: float) -> Optional[float]:
        """Seconds from the child's last tracking call to its process exit (None: > cap)."""
        spec = {"scenario": "exit", "url": url, "params": params}
        proc = subprocess.Popen(
            self._command(sdk, spec),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=self.env,
        )
        first: list[str] = []
        reader = threading.Thread(target=lambda: first.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        try:
            proc.wait(timeout=cap + 30)
            exited = time.monotonic()
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return None
        reader.join(5)
        try:
            t_last = json.loads(first[0])["t_last"]
        except (IndexError, ValueError, KeyError):
            log(f"  ! {sdk} exit: no timestamp from the child")
            return None
        elapsed = exited - t_last
        return None if elapsed > cap else elapsed

    official_key = OFFICIAL

    def count(self, full: int, quick: int) -> int:
        """Events per run of a new section: ``--scale`` times the full or the quick count."""
        return max(1, int((quick if self.quick else full) * self.args.scale))

    def rounds(self, full: int, quick: int) -> int:
        """Rounds of a new section: ``--reps`` when given, else ``full`` (quick: ``quick``)."""
        return self.args.reps or (quick if self.quick else full)

    def label(self, sdk: str) -> str:
        return LABELS.get(sdk, sdk)

    def sdks(self, rep: int, with_official: bool = False) -> list[str]:
        """The SDKs in a rotated order, so that no SDK always runs first (A/B interleaving)."""
        names = ["ripples", *PEERS] + ([OFFICIAL] if with_official and self.official_python else [])
        names = [s for s in names if self.wanted(s)]
        if not names:
            return []
        k = rep % len(names)
        return names[k:] + names[:k]


def closed_port_url() -> str:
    """A loopback URL on which nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# -- 1. caller cost ---------------------------------------------------------------
def section_caller(b: Bench) -> None:
    n = 5_000
    runs: dict[str, list[dict[str, Any]]] = {}
    with PeerSink() as sink:
        for rep in range(b.reps):
            for sdk in b.sdks(rep, with_official=True):
                log(f"caller: rep {rep + 1}/{b.reps} {sdk}")
                r = b.worker(sdk, "caller", sink.url, {"n": n})
                if r:
                    runs.setdefault(sdk, []).append(r)
    ours = runs.get("ripples", [])
    rows = []
    for sdk, rs in runs.items():
        rows.append(
            [
                LABELS[sdk],
                median_of(rs, "median_us"),
                median_of(rs, "mean_us"),
                median_of(rs, "p99_us"),
                median_of(rs, "max_us"),
                None if sdk == "ripples" else fmt_ratio(paired_ratio(rs, ours, "mean_us")),
            ]
        )
    print(
        f"\n1. Caller cost per track(): {n:,} calls from one thread, healthy collector "
        f"(median of {b.reps} interleaved runs)"
    )
    print(table(["sdk", "median µs", "mean µs", "p99 µs", "max µs", "its mean / ours"], rows))
    b.results["caller"] = runs
    med, mean, p99 = (median_of(ours, k) for k in ("median_us", "mean_us", "p99_us"))
    # Issue 15 tightened issue 9's 5 µs / 25 µs: the caller's cost with the sender running.
    b.targets.check("track() median <= 2 µs", med, None if med is None else med <= 2, " µs")
    b.targets.check("track() mean <= 6 µs", mean, None if mean is None else mean <= 6, " µs")
    b.targets.check("track() p99 <= 10 µs", p99, None if p99 is None else p99 <= 10, " µs")
    peer_ratios = [paired_ratio(runs[p], ours, "mean_us") for p in PEERS if p in runs]
    faster = min((r for r in peer_ratios if r), default=None)
    b.targets.check(
        "track() mean <= 1/3 of the faster peer's mean (peer/ours >= 3)",
        faster,
        None if faster is None else faster >= 3,
        "x",
    )


# -- 2. throughput and burst ------------------------------------------------------
def _throughput_run(
    b: Bench, sink: PeerSink, sdk: str, n: int, threads: int
) -> Optional[dict[str, Any]]:
    sink.reset()
    r = b.worker(sdk, "throughput", sink.url, {"n": n, "threads": threads})
    if not r:
        return None
    stored = sink.wait_stable(r["calls"], timeout=15, quiet=1.0)
    snap = sink.snapshot()
    elapsed = snap["last_event_at"] - r["t_first"] if stored else None
    r.update(
        stored=stored,
        lost=r["calls"] - stored,
        events_s=(stored / elapsed) if elapsed and elapsed > 0 else None,
    )
    return r


def _devserver_throughput(b: Bench, n: int) -> Optional[float]:
    """Ours into the real DevServer (SQLite storage), for reference."""
    try:
        from ripples.dev import DevServer
    except ImportError:
        return None
    with DevServer(host="127.0.0.1", port=0, db=":memory:") as server:
        spec_params = {"n": n, "threads": 1}
        proc_start = time.monotonic()
        r = b.worker("ripples", "throughput", server.url, spec_params)
        if not r:
            return None
        deadline = proc_start + 60
        while server.stats["events"] < r["calls"] and time.monotonic() < deadline:
            time.sleep(0.005)
        done = time.monotonic()
        return server.stats["events"] / (done - r["t_first"])


def section_throughput(b: Bench) -> None:
    n, burst = 10_000, 20_000
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    bursts: dict[str, list[dict[str, Any]]] = {}
    with PeerSink() as sink:
        for rep in range(b.reps):
            for threads in (1, 8):
                for sdk in b.sdks(rep, with_official=True):
                    log(f"throughput: rep {rep + 1}/{b.reps} {sdk} {threads} thread(s)")
                    r = _throughput_run(b, sink, sdk, n, threads)
                    if r:
                        runs.setdefault((sdk, threads), []).append(r)
            if not b.quick or rep < 2:
                for sdk in b.sdks(rep):
                    log(f"burst: rep {rep + 1} {sdk}")
                    r = _throughput_run(b, sink, sdk, burst, 1)
                    if r:
                        bursts.setdefault(sdk, []).append(r)
    rows = []
    for threads in (1, 8):
        ours = runs.get(("ripples", threads), [])
        for sdk in ("ripples", *PEERS, OFFICIAL):
            rs = runs.get((sdk, threads), [])
            if not rs:
                continue
            rows.append(
                [
                    LABELS[sdk],
                    threads,
                    median_of(rs, "events_s"),
                    median_of(rs, "calls_s"),
                    median_of(rs, "flush_s"),
                    max((r["lost"] for r in rs), default=None),
                    None if sdk == "ripples" else fmt_ratio(paired_ratio(ours, rs, "events_s")),
                ]
            )
    devserver = _devserver_throughput(b, n)
    if devserver:
        rows.append(["ripples -> DevServer (SQLite)", 1, devserver, None, None, None, None])
    print(
        f"\n2. Throughput end to end: {n:,} events, first call to last event received by the "
        f"collector, flush included (median of {b.reps})"
    )
    print(
        table(
            ["sdk", "threads", "events/s", "calls s", "flush s", "lost (max)", "ours / its"], rows
        )
    )
    burst_rows = []
    for sdk in ("ripples", *PEERS):
        rs = bursts.get(sdk, [])
        arrived = median_of(rs, "stored")
        burst_rows.append(
            [
                LABELS[sdk],
                arrived,
                ", ".join(f"{100 * r['lost'] / burst:.0f}%" for r in rs) or None,
                median_of(rs, "dropped_reported"),
                median_of(rs, "events_s"),
            ]
        )
    print(
        f"\n   Burst: {burst:,} events as fast as one thread can, default settings "
        "(lost: each run; the peers' 10,000-event queues drop the newest, silently)"
    )
    print(table(["sdk", "arrived (median)", "lost", "drops reported", "events/s"], burst_rows))
    b.results["throughput"] = {f"{k[0]}/{k[1]}": v for k, v in runs.items()}
    b.results["burst"] = bursts

    ours1 = runs.get(("ripples", 1), [])
    ev1 = median_of(ours1, "events_s")
    b.targets.check(
        "throughput, 1 thread >= 50,000 events/s",
        ev1,
        None if ev1 is None else ev1 >= 50_000,
        " ev/s",
    )
    ratios = [paired_ratio(ours1, runs.get((p, 1), []), "events_s") for p in PEERS]
    worst = min((r for r in ratios if r), default=None)
    b.targets.check(
        "throughput >= 2x the faster peer (1 thread)",
        worst,
        None if worst is None else worst >= 2,
        "x",
    )
    official = paired_ratio(ours1, runs.get((OFFICIAL, 1), []), "events_s")
    b.targets.check(
        "throughput, 1 thread >= 1.5x official 0.1.9 (same run)",
        official,
        None if official is None else official >= 1.5,
        "x",
    )
    lost1 = [r["lost"] for r in ours1]
    b.targets.check(
        "throughput, 1 thread: nothing lost",
        max(lost1, default=None),
        None if not lost1 else max(lost1) == 0,
        " lost",
    )
    lost = [r["lost"] for r in bursts.get("ripples", [])]
    b.targets.check(
        f"{burst:,}-event burst: no event lost (defaults)",
        max(lost, default=None),
        None if not lost else max(lost) == 0,
        " lost",
    )


# -- 3. outage ----------------------------------------------------------------------
def section_outage(b: Bench) -> None:
    n = 1_000
    flush_cap, exit_cap = (15.0, 20.0) if b.quick else (30.0, 45.0)
    rows = []
    hang_sink = PeerSink().start()
    hang_sink.hang = True
    modes = {"API hanging": hang_sink.url, "port closed": closed_port_url()}
    try:
        exits: dict[tuple[str, str], Optional[float]] = {}
        # Exit times are mostly idle waiting: run them side by side, before the timed calls.
        jobs = [
            threading.Thread(
                target=lambda m=m, u=u, s=s: exits.__setitem__(
                    (m, s), b.exit_time(s, u, {"n": n}, exit_cap)
                )
            )
            for m, u in modes.items()
            for s in ("ripples", *PEERS)
        ]
        log(f"outage: {len(jobs)} exit-time runs in parallel (cap {exit_cap:.0f} s)")
        for j in jobs:
            j.start()
        for j in jobs:
            j.join()
        runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
        ours_reps = 1 if b.quick else 3  # ours is the figure with a target: a median of 3
        for rep in range(ours_reps):
            for mode, url in modes.items():
                for sdk in b.sdks(rep, with_official=mode == "API hanging"):
                    if rep and sdk != "ripples":
                        continue
                    log(f"outage: {mode} {sdk} (run {rep + 1})")
                    params: dict[str, Any] = {"n": n, "gap": 0.001, "flush_cap": flush_cap}
                    if sdk == OFFICIAL:  # it stalls 3 s per 100 calls
                        params.update(n=300 if b.quick else n, gap=0.0)
                    r = b.worker(sdk, "outage", url, params, timeout=240)
                    if r:
                        runs.setdefault((mode, sdk), []).append(r)
    finally:
        hang_sink.stop()
    results: dict[tuple[str, str], dict[str, Any]] = {}
    for key, rs in runs.items():
        flushes = [r["flush_s"] for r in rs]
        results[key] = {
            "worst_ms": median_of(rs, "worst_ms"),
            "p99_us": median_of(rs, "p99_us"),
            "calls_total_s": median_of(rs, "calls_total_s"),
            "flush_s": None if None in flushes else statistics.median(flushes),
            "runs": len(rs),
        }
    for (mode, sdk), r in sorted(results.items(), key=lambda kv: (kv[0][0], kv[0][1] != "ripples")):
        exit_s = exits.get((mode, sdk))
        rows.append(
            [
                LABELS[sdk],
                mode,
                r["runs"],
                r["worst_ms"],
                r["p99_us"],
                r["calls_total_s"],
                r["flush_s"] if r["flush_s"] is not None else f"> {flush_cap:.0f}",
                "-" if sdk == OFFICIAL else (exit_s if exit_s is not None else f"> {exit_cap:.0f}"),
            ]
        )
    print(
        f"\n3. Outage: {n:,} calls 1 ms apart against a collector that hangs or a closed port; "
        "then flush(); separately, last call -> process exit (default settings; median of runs)"
    )
    print(
        table(
            [
                "sdk",
                "collector",
                "runs",
                "worst call ms",
                "p99 µs",
                "calls total s",
                "flush() s",
                "exit s",
            ],
            rows,
        )
    )
    b.results["outage"] = {f"{m}/{s}": r for (m, s), r in runs.items()}
    b.results["exit"] = {f"{m}/{s}": v for (m, s), v in exits.items()}
    flush_budget = float(b.our_options.get("flush_timeout", 10.0))
    exit_budget = float(b.our_options.get("shutdown_timeout", 5.0))
    for mode in modes:
        r = results.get((mode, "ripples"))
        worst = r["worst_ms"] if r else None
        b.targets.check(
            f"outage ({mode}): no call over 1 ms",
            worst,
            None if worst is None else worst <= 1.0,
            " ms",
        )
        fl = r["flush_s"] if r else None
        b.targets.check(
            f"outage ({mode}): flush() within flush_timeout={flush_budget:g} s",
            fl,
            None if r is None else fl is not None and fl <= flush_budget + 0.5,
            " s",
        )
        ex = exits.get((mode, "ripples"))
        b.targets.check(
            f"outage ({mode}): exit within shutdown_timeout={exit_budget:g} s (+0.5 s teardown)",
            ex,
            ex is not None and ex <= exit_budget + 0.5,
            " s",
        )


# -- 4. memory ------------------------------------------------------------------------
def section_memory(b: Bench) -> None:
    n = 200_000
    url = closed_port_url()
    default_buffer = int(b.our_options.get("max_buffer_size", 50_000))
    caps = {"ripples": default_buffer, "posthog": 10_000, "segment": 10_000}
    plan = [("ripples", n), ("ripples", default_buffer), ("posthog", n), ("segment", n)]
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for rep in range(1 if b.quick else 2):
        for sdk, count in plan[rep % 2 :] + plan[: rep % 2]:
            log(f"memory: rep {rep + 1} {sdk} {count:,} events, port closed")
            params = {"n": count}
            if sdk == "ripples":
                params["expect_dropped"] = max(0, count - default_buffer)
            r = b.worker(sdk, "memory", url, params, timeout=300)
            if r:
                runs.setdefault((sdk, count), []).append(r)
    rows = []
    for (sdk, count), rs in runs.items():
        growth = median_of(rs, "peak_growth")
        buffered = min(count, caps[sdk])
        rows.append(
            [
                LABELS[sdk],
                count,
                buffered,
                None if growth is None else growth / 2**20,
                None if growth is None else growth / buffered,
                median_of(rs, "dropped_reported"),
            ]
        )
    print(
        f"\n4. Memory: peak RSS growth while events are tracked with the port closed "
        f"(our max_buffer_size={default_buffer:,}; peers' queues hold 10,000)"
    )
    print(
        table(
            [
                "sdk",
                "tracked",
                "buffered",
                "peak growth MiB",
                "bytes / buffered event",
                "drops reported",
            ],
            rows,
        )
    )
    b.results["memory"] = {f"{s}/{c}": v for (s, c), v in runs.items()}
    big = median_of(runs.get(("ripples", n), []), "peak_growth")
    full = median_of(runs.get(("ripples", default_buffer), []), "peak_growth")
    ok = None if big is None or full is None else big <= 1.25 * full + 4 * 2**20
    b.targets.note(
        f"memory bounded by the buffer: growth({n:,}) <= 1.25 x growth({default_buffer:,}) + 4 MiB",
        "not measured"
        if ok is None
        else f"{big / 2**20:.1f} vs {full / 2**20:.1f} MiB ({full / default_buffer:.0f} B/event)",
        ok,
    )
    if big is not None:
        dropped = median_of(runs.get(("ripples", n), []), "dropped_reported")
        b.targets.check(
            f"overflow reported: {n - default_buffer:,} oldest dropped via on_error",
            dropped,
            None if dropped is None else dropped == n - default_buffer,
        )


# -- 5 and 6. the other engineers' measure functions -------------------------------------
def _call_measure(fn: Callable[..., Any], quick: bool) -> Any:
    params = inspect.signature(fn).parameters
    return fn(quick=quick) if "quick" in params else fn()


def _scalar_keys(rows: list[dict[str, Any]]) -> list[str]:
    """Column names, leaving out per-run lists and nested dicts."""
    keys = dict.fromkeys(k for r in rows for k in r)
    return [k for k in keys if not any(isinstance(r.get(k), (list, dict)) for r in rows)]


def _print_result(title: str, result: Any) -> None:
    print(f"\n{title}")
    if isinstance(result, dict) and result and all(isinstance(v, dict) for v in result.values()):
        result = [{"case": name, **v} for name, v in result.items()]
    if isinstance(result, list) and result and all(isinstance(r, dict) for r in result):
        keys = _scalar_keys(result)
        print(table(keys, [[r.get(k) for k in keys] for r in result]))
    elif isinstance(result, dict):
        print(table(["figure", "value"], [(k, v) for k, v in result.items()]))
    else:
        print(result)


def _ratios(result: Any) -> list[tuple[str, float]]:
    """(name, ratio) pairs found anywhere in a measure() result."""
    found: list[tuple[str, float]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}{k}" if not prefix else f"{prefix}/{k}", v)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                name = v.get("name") or v.get("case") or str(i) if isinstance(v, dict) else str(i)
                walk(f"{prefix}/{name}", v)
        elif isinstance(value, (int, float)) and "ratio" in prefix.lower():
            found.append((prefix, float(value)))

    walk("", result)
    return found


def section_middleware(b: Bench) -> None:
    found = False
    for module_name in ("bench_django", "bench_flask", "bench_asgi"):
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            log(f"middleware: {module_name} not available ({exc})")
            continue
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if not name.startswith("measure") or fn.__module__ != module.__name__:
                continue
            found = True
            log(f"middleware: {module_name}.{name}")
            try:
                result = _call_measure(fn, b.quick)
            except Exception as exc:  # one framework's failure must not hide the others
                print(f"\n5. {module_name}.{name} failed: {exc!r}")
                continue
            _print_result(f"5. Middleware cost: {module_name}.{name}", result)
            b.results[f"{module_name}.{name}"] = result
            for raw, value in _ratios(result):
                label = raw.strip("/").removesuffix("/ratio")
                low = label.lower()
                bound = (
                    0.97
                    if any(w in low for w in ("nothing", "none", "no_event", "untracked", "idle"))
                    else 0.90
                )
                b.targets.note(
                    f"middleware {module_name}: {label} >= {bound:.0%} of bare req/s",
                    f"{value:.1%}",
                    value >= bound,
                )
    if not found:
        print(
            "\n5. Middleware cost: no benchmarks/bench_{django,flask,asgi}.py measure functions yet"
        )
        b.targets.note(
            "middleware >= 97% (no event) / 90% (one event) of bare req/s", "not measured", None
        )


def section_collector(b: Bench) -> None:
    try:
        module = importlib.import_module("bench_collector")
        fn = module.measure_ingest
    except (ImportError, AttributeError) as exc:
        print(f"\n6. Collector ingest: benchmarks/bench_collector.py not available ({exc})")
        return
    log("collector: bench_collector.measure_ingest")
    try:
        result = _call_measure(fn, b.quick)
    except Exception as exc:
        print(f"\n6. Collector ingest failed: {exc!r}")
        return
    _print_result("6. Collector ingest rate (ripples dev): bench_collector.measure_ingest", result)
    b.results["collector"] = result


# -- the official 0.1.9 client, from a throw-away venv -----------------------------------
def prepare_official(b: Bench) -> None:
    """Use (or build once) a venv under /tmp with ripples==0.1.9; never the repo venv."""
    python = OFFICIAL_VENV / "bin" / "python"
    if not python.exists():
        log(f"official 0.1.9: creating {OFFICIAL_VENV} (once)")
        try:
            subprocess.run(
                [sys.executable, "-m", "venv", "--without-pip", str(OFFICIAL_VENV)],
                check=True,
                timeout=120,
            )
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "--python",
                    str(python),
                    "install",
                    "-q",
                    "ripples==0.1.9",
                ],
                check=True,
                timeout=300,
                capture_output=True,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            log(f"official 0.1.9: unavailable ({exc}); skipped")
            return
    probe = subprocess.run(
        [
            str(python),
            "-I",
            "-c",
            "import ripples, importlib.metadata as m;print(m.version('ripples'), ripples.__file__)",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if (
        probe.returncode != 0
        or not probe.stdout.startswith("0.1.9 ")
        or str(HERE.parent) in probe.stdout
    ):
        log(f"official 0.1.9: unusable venv at {OFFICIAL_VENV}: {probe.stdout}{probe.stderr}")
        return
    b.official_python = str(python)


# -- profile when the hot path misses ------------------------------------------------------
def profile_hot_path() -> None:
    print("\nProfile of the track() hot path (pyinstrument and cProfile, 100,000 calls):")
    done = subprocess.run(
        [sys.executable, str(HERE / "profile_track.py"), "--calls", "100000"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    print(done.stdout[-12_000:] or done.stderr[-3_000:])


def profile_sender() -> None:
    print("\nWhat one event costs the whole process (request thread + sender thread):")
    command = [sys.executable, str(HERE / "profile_sender.py"), "--rate", "2000"]
    if shutil.which("py-spy"):
        command.append("--py-spy")
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    print(done.stdout[-6_000:] or done.stderr[-3_000:])


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer repetitions, shorter caps (~4-5 min)"
    )
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS + NEW_SECTIONS),
        help="comma list of: " + ",".join(SECTIONS + NEW_SECTIONS),
    )
    parser.add_argument("--reps", type=int, default=0, help="repetitions (default 5, quick 3)")
    parser.add_argument(
        "--no-official", action="store_true", help="skip the 0.1.9 reference figures"
    )
    parser.add_argument(
        "--no-profile", action="store_true", help="no profile even when a target is missed"
    )
    parser.add_argument("--json", help="also write every raw figure to this file")
    parser.add_argument(
        "--sdks",
        default="",
        help="comma list to keep of: ripples,posthog,segment,official (default all)",
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply the event counts of the new sections (allin, contention, bufmem, mwcpu)",
    )
    args = parser.parse_args(argv)
    b = Bench(args)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(SECTIONS + NEW_SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    uses_official = {"caller", "throughput", "outage", "allin", "contention"}
    if not args.no_official and b.wanted("official") and uses_official & set(only):
        prepare_official(b)
    started = time.monotonic()
    b.worker("ripples", "caller", closed_port_url(), {"n": 10, "warmup": 0, "flush_cap": 0.1})
    print(
        f"Ripples SDK benchmarks: Python {platform.python_version()}, {os.cpu_count()} cores, "
        f"{'quick' if b.quick else 'full'} run, {b.reps} repetitions"
    )
    sections = {
        "caller": section_caller,
        "throughput": section_throughput,
        "outage": section_outage,
        "memory": section_memory,
        "middleware": section_middleware,
        "collector": section_collector,
    }
    for name in SECTIONS:
        if name in only:
            sections[name](b)
    for name in NEW_SECTIONS:
        if name in only:
            importlib.import_module(f"bench_{name}").section(b)
    print("\nVersions: " + ", ".join(f"{LABELS.get(k, k)} {v}" for k, v in b.versions.items()))
    print("\nTargets (issues 9, 15 and 17), ours on this machine:")
    print(b.targets.render())
    print(f"\n{len(b.targets.missed)} missed; total {time.monotonic() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(b.results, indent=1, default=str))
    if not args.no_profile and any("track()" in t or "throughput" in t for t in b.targets.missed):
        profile_hot_path()
    if not args.no_profile and any("middleware" in t for t in b.targets.missed):
        profile_sender()
    return 0


if __name__ == "__main__":
    sys.exit(main())
