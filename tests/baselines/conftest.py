import pytest


@pytest.fixture(scope="session")
def torch():
    """The torch module on one thread; a test that takes it is skipped without torch
    (the ``pinn`` extra)."""
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch
