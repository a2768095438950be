"""torch_scope: torch settings changed for one block or call, then restored."""
import pytest

torch = pytest.importorskip("torch")

from evsim.teachers.pinn import torch_scope  # noqa: E402


def test_threads_and_determinism_are_restored_also_after_an_error():
    before = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    target = 1 if before[0] != 1 else 2
    with pytest.raises(RuntimeError, match="inside"):
        with torch_scope(threads=target, deterministic=not before[1]) as t:
            assert t is torch
            assert torch.get_num_threads() == target
            assert torch.are_deterministic_algorithms_enabled() is (not before[1])
            raise RuntimeError("inside")
    assert (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()) == before


def test_as_a_decorator_each_call_is_scoped():
    before = torch.get_num_threads()
    target = 1 if before != 1 else 2

    @torch_scope(threads=target)
    def threads():
        return torch.get_num_threads()

    assert threads() == target and threads() == target
    assert torch.get_num_threads() == before


def test_training_leaves_the_thread_count_alone():
    from evsim.baselines import models
    from evsim.teachers.pinn import HeatPDE, train_pinn
    before = torch.get_num_threads()
    train_pinn(HeatPDE(), hidden=4, depth=1, n_interior=16, adam_iters=2, lbfgs_iters=0, threads=1)
    models.train_x2("lif", steps=4, iters=2, sizes=[1, 4, 1])
    assert torch.get_num_threads() == before
