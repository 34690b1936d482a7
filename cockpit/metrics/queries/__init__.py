"""The only SQL of ``metrics/``: the counts behind every figure, read-only, one job per module.

- ``counts``: call, seat and ticket counts of a scope and a window (rollups inside their
  coverage, raw rows at the edges), the sums behind staffing;
- ``volume``: the per-key counts of the volume watchpoints;
- ``series``: per-interval and per-day series (seat planning's history, the screens' curves).

This package's names are their public surface: callers write ``queries.call_counts``.
"""

from cockpit.metrics.queries.counts import (MAX_CALL_SPAN, ROLLUP_HANDLING_MIN, ROLLUP_JOB_FROM, ROLLUP_JOB_TO,
                                            TICKET_GROUPS, WAITING_MAX_AGE_S, abandon_wait_totals, call_count_columns,
                                            call_counts_by_city,
                                            call_counts, call_counts_raw, call_counts_rollup, connection_counts_by_city,
                                            handle_time_expr,
                                            handling_seconds, one_of, overdue_open_now, queue_now, rollup_coverage,
                                            seat_times, seats_in_states, ticket_count_columns, ticket_counts,
                                            tickets_created)
from cockpit.metrics.queries.counts import _split_for_rollups  # noqa: F401 - reports/figures.py reads it
from cockpit.metrics.queries.series import (INTERVALS_PER_DAY, calls_queued, category_counts, cities_with_calls,
                                            daily_tickets, days_with_tickets, interval_series, offered_per_interval)
from cockpit.metrics.queries.volume import (city_interval_counts, volume_counts, volume_key_totals, volume_keys,
                                            volume_rollup_multiwindow, volume_rollup_series, volume_rollup_windows,
                                            volume_window_counts)
from cockpit.store.rollups import bucket_sql as interval_bucket  # noqa: F401 - the interval of a row, once
from cockpit.store.rollups import sub_category_sql  # noqa: F401
