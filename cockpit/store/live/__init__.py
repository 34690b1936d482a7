"""All Redis live counters derived from events. Nothing here is truth; a rebuild recreates it from SQL.

One folder, one job per module, and this package's names are their public surface (callers write
``live.apply``, ``live.day_totals``, ``live.epoch_state``):

- ``keys``: the key templates (every city key hash-tagged ``{CITY}`` for Redis Cluster), the
  control keys and the local day;
- ``write``: the write path (``apply``), a batch of events in one pipeline (Lua scripts per key);
- ``reads``: counter reads taking an optional ``Batch`` so a screen refresh is one round trip;
- ``epoch``: restarts and rebuilds (epoch, rebuilding flag, swap of rebuilt keys, clearing).
"""

from cockpit.store.live.write import LiveConfig, apply
from cockpit.store.live.epoch import (clear, clear_prefix, clear_rebuilding, epoch_state, keep_rebuilding,
                                      mark_rebuilding, server_run_id, set_epoch, swap_in)
from cockpit.store.live.keys import (CONTROL_KEYS, KEY_CITIES, KEY_EPOCH, KEY_REBUILDING, MAX_QUEUE_AGE,
                                     MINUTE_METRICS, PREFIX, QUEUE_HORIZON, REBUILD_PREFIX, day_str, key_day,
                                     key_done, key_meta, key_minutes, key_panel, key_panel_lock, key_seat_counts,
                                     key_seats, key_waiting)
from cockpit.store.live.reads import (Batch, Pending, Waiting, applied_at, day_totals, has_data, known_cities,
                                      minute_series, seat_counts, snapshot, waiting)

__all__ = [
    "LiveConfig", "apply",
    "clear", "clear_prefix", "clear_rebuilding", "epoch_state", "keep_rebuilding", "mark_rebuilding",
    "server_run_id", "set_epoch", "swap_in",
    "CONTROL_KEYS", "KEY_CITIES", "KEY_EPOCH", "KEY_REBUILDING", "MAX_QUEUE_AGE", "MINUTE_METRICS", "PREFIX",
    "QUEUE_HORIZON", "REBUILD_PREFIX", "day_str", "key_day", "key_done", "key_meta", "key_minutes", "key_panel",
    "key_panel_lock", "key_seat_counts", "key_seats", "key_waiting",
    "Batch", "Pending", "Waiting", "applied_at", "day_totals", "has_data", "known_cities", "minute_series",
    "seat_counts", "snapshot", "waiting",
]
