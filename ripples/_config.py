"""What decides how events are sent: clients with equal configurations share a sender."""

from __future__ import annotations

from typing import NamedTuple, Optional


class SenderConfig(NamedTuple):
    """Everything that decides how events are sent; equal configs share a sender."""

    secret_key: str
    base_url: str
    timeout: float
    connect_timeout: float
    max_queue_size: int
    max_batch_size: int
    max_buffer_size: int
    max_retries: int
    flush_interval: float
    shutdown_timeout: float
    #: A directory for the durable spool, or None for memory only.
    spool_dir: Optional[str] = None
    max_spool_bytes: int = 256 * 1024 * 1024

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={value!r}" for name, value in self._asdict().items() if name != "secret_key"
        )
        return f"SenderConfig(secret_key=***, {fields})"
