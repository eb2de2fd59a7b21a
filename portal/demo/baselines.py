"""The demo catalog's baselines "before the network" (入网前): the working days an item took to finish when the
resident had to go to the mainland for it (the boat, waiting for sailings, the office's own days, often a second
journey to collect the result). The results report measures the efficiency gain against them (docs/METRICS.md,
"Efficiency gain"). Items with no "before" (repairs on the island, heating, the village library, care visits) have
none and are left out of the gain."""
from __future__ import annotations

BASELINE_WORKING_DAYS: dict[str, float] = {
    # civil affairs: an approval handed in and collected on the mainland
    "CA01": 40, "CA02": 40, "CA03": 15, "CA04": 20, "CA05": 30, "CA06": 3, "CA07": 20,
    # social security
    "SS01": 3, "SS02": 2, "SS03": 20, "SS04": 5, "SS05": 3, "SS06": 30,
    # veterans' services
    "VA01": 30, "VA02": 30, "VA03": 2,
    # planning and construction (the repairs on the island had no "before")
    "PB01": 45, "PB02": 12,
    # party-building services
    "PS01": 15, "PS02": 1, "PS03": 40,
    # convenience services
    "CV01": 2, "CV02": 1, "CV03": 3, "CV04": 3, "CV05": 3, "CV06": 20,
    # tourism
    "TR01": 20, "TR02": 30,
}
