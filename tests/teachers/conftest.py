import pytest


@pytest.fixture(scope="module")
def torch():
    """The torch module; a test that takes it is skipped without torch (the ``pinn`` extra)."""
    return pytest.importorskip("torch")
