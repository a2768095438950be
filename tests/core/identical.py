"""What "the same run" means in the engine tests: event by event, bit for bit."""
import numpy as np


def assert_same_run(a, b):
    """Two results are identical: spike log (when both have one), record times and
    potentials, final potentials, ledgers, per-edge counts, and the counters."""
    if a.spike_log is not None or b.spike_log is not None:
        for key in ("time", "edge", "sign"):
            np.testing.assert_array_equal(a.spike_log[key], b.spike_log[key])
    for key in ("times", "potential", "final_potential", "ledger_cells", "ledger_reservoirs",
                "edge_forward", "edge_backward"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key), err_msg=key)
    assert (a.in_transit, a.firings, a.arrivals, a.t_final) == (b.in_transit, b.firings,
                                                                b.arrivals, b.t_final)
