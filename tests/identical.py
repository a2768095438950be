"""What "the same" means in the tests: runs event by event, networks array by array, bit for bit."""
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


#: The arrays of a compiled :class:`evsim.network.Network`.
NETWORK_FIELDS = ("edges", "conductance", "drive", "latency", "volume", "reservoir_potential",
                  "initial_potential", "positions", "inc_ptr", "inc_edge")


def assert_same_network(a, b):
    """Two compiled networks are identical: node labels, counts, every array (dtype,
    shape, values)."""
    assert a.nodes == b.nodes
    assert (a.cells, a.reservoirs) == (b.cells, b.reservoirs)
    for name in NETWORK_FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert np.array_equal(x, y, equal_nan=True), name
