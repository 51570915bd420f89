"""The event ledger: where every event a client accepted is now.

Every event ends in exactly one state, so the counts always balance::

    tracked + recovered == delivered + refused + dropped + pending
                           + spooled + undelivered_at_exit

- ``tracked``: accepted by a tracking call of a client with this configuration
  in this process (validated, not recorded by ``ripples.testing``, not disabled).
- ``recovered``: read back from the spool (written by this or another process).
- ``delivered``: the API answered 2xx for the batch that carried it.
- ``refused``: the API answered a 4xx for it (or for its whole batch, on
  401/403/404/405); reported through ``on_error`` and the log.
- ``dropped``: discarded by the SDK and reported, by reason: ``buffer_full``
  (the oldest events when ``max_buffer_size`` was reached), ``unencodable`` (a
  value JSON cannot carry, found at send time), ``send_error`` (a custom
  ``_post`` raised an error that is not a network or HTTP failure, for that
  event alone), ``spool_full`` (``max_spool_bytes`` reached), ``spool_damaged``
  (a record of a spool file damaged by a crash while writing).
- ``pending``: queued in memory or in flight right now.
- ``spooled``: written to the spool directory, to be sent by whichever process
  recovers it.
- ``undelivered_at_exit``: still pending when the process exited and could
  not be spooled; the exit log line names the same number.

The sender mutates a :class:`Ledger` under its own lock; :meth:`Ledger.snapshot`
makes the immutable :class:`DeliveryStats` users read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: The reasons an event can be dropped, as keys of ``DeliveryStats.dropped_by_reason``.
DROP_REASONS = ("buffer_full", "unencodable", "send_error", "spool_full", "spool_damaged")


@dataclass(frozen=True)
class DeliveryStats:
    """A snapshot of one configuration's delivery ledger (see ``Ripples.stats()``).

    Counts are events since the process started (a forked child starts from
    zero). Times are epoch seconds (``time.time()``), or None when it never
    happened. ``last_error`` is a message without the secret key.
    """

    tracked: int = 0
    delivered: int = 0
    refused: int = 0
    dropped: int = 0
    pending: int = 0
    spooled: int = 0
    recovered: int = 0
    undelivered_at_exit: int = 0
    dropped_by_reason: Mapping[str, int] = field(default_factory=dict)
    #: Retries of a batch after a transient failure (timeout, connection error, 408, 429, 5xx).
    retries: int = 0
    #: Bytes in the spool directory for this configuration (0 without a spool).
    spool_bytes: int = 0
    last_error: str | None = None
    last_error_at: float | None = None
    last_success_at: float | None = None
    #: While delivery is failing: when the sender will try again (epoch seconds).
    backing_off_until: float | None = None

    @property
    def balanced(self) -> bool:
        """True when every event is accounted for (always, unless the SDK has a bug)."""
        inflow = self.tracked + self.recovered
        return inflow == (
            self.delivered
            + self.refused
            + self.dropped
            + self.pending
            + self.spooled
            + self.undelivered_at_exit
        )

    def describe(self) -> str:
        """One line for a terminal: the counts, the spool, and the last error if any."""
        line = (
            f"tracked {self.tracked}, delivered {self.delivered}, pending {self.pending}, "
            f"refused {self.refused}, dropped {self.dropped}, spooled {self.spooled}, "
            f"recovered {self.recovered}, spool {self.spool_bytes} bytes"
        )
        if self.undelivered_at_exit:
            line += f", undelivered at exit {self.undelivered_at_exit}"
        if self.last_error:
            line += f"; last error: {self.last_error}"
        return line

    @property
    def lost(self) -> int:
        """Events that will never reach the API: refused, dropped or undelivered at exit."""
        return self.refused + self.dropped + self.undelivered_at_exit


class Ledger:
    """Mutable counters behind :class:`DeliveryStats`; the sender holds its lock around calls."""

    __slots__ = (
        "delivered",
        "dropped_by_reason",
        "last_error",
        "last_error_at",
        "last_success_at",
        "recovered",
        "refused",
        "retries",
        "spooled",
        "undelivered_at_exit",
    )

    def __init__(self) -> None:
        self.delivered = 0
        self.refused = 0
        self.spooled = 0
        self.recovered = 0
        self.undelivered_at_exit = 0
        self.retries = 0
        self.dropped_by_reason: dict[str, int] = {}
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.last_success_at: float | None = None

    def drop(self, reason: str, count: int = 1) -> None:
        self.dropped_by_reason[reason] = self.dropped_by_reason.get(reason, 0) + count

    def error(self, message: str, when: float) -> None:
        self.last_error = message
        self.last_error_at = when

    def snapshot(
        self,
        *,
        tracked: int,
        pending: int,
        spool_bytes: int,
        backing_off_until: float | None,
    ) -> DeliveryStats:
        return DeliveryStats(
            tracked=tracked,
            delivered=self.delivered,
            refused=self.refused,
            dropped=sum(self.dropped_by_reason.values()),
            pending=pending,
            spooled=self.spooled,
            recovered=self.recovered,
            undelivered_at_exit=self.undelivered_at_exit,
            dropped_by_reason=dict(self.dropped_by_reason),
            retries=self.retries,
            spool_bytes=spool_bytes,
            last_error=self.last_error,
            last_error_at=self.last_error_at,
            last_success_at=self.last_success_at,
            backing_off_until=backing_off_until,
        )
