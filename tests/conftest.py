import os

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("TQDM_DISABLE", "1")


@pytest.fixture(scope="session")
def torch():
    """The torch module on one thread; a test that takes it is skipped without torch
    (the ``pinn`` extra). ``tests/teachers`` overrides it without the thread setting."""
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch
