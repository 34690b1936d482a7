"""Realistic simulated traffic for the Gansu 12345 demo: calls, seats, tickets and incidents.

Public API:
- ``generate(start, duration, *, seed, ...)``: events of a window, in occurred_at order;
- ``Province``: the same with state kept between consecutive windows (live streaming);
- ``incidents(start, duration, *, seed, cities)``: the incident schedule of a window;
- ``seed_history(stores, days, *, seed, end)``: write a history through ``cockpit.ingest``;
- ``columnar.CityDayGen``: the same model in numpy columns (arrays per table, no object per event),
  for loading history fast (``seed_history(columnar=True)``).
See docs/simulation.md for the model, the fitted profiles and the known unit behaviours.
"""

from cockpit.simulation.engine import PROVINCE_DAILY_CONTACTS, Province, generate, local_midnight
from cockpit.simulation.incidents import Incident, incidents
from cockpit.simulation.seeding import history_window, seed_history

__all__ = [
    "PROVINCE_DAILY_CONTACTS",
    "Incident",
    "Province",
    "generate",
    "history_window",
    "incidents",
    "local_midnight",
    "seed_history",
]
