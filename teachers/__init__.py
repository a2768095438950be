"""Reference solvers and teachers: anything that can say u(x, t).

Teachers calibrate ("distill") a PISNN: the operator scale and the quota.
"""
from .semidiscrete import operator, semidiscrete, steady_state

__all__ = ["operator", "semidiscrete", "steady_state", "fem_heat", "fem_reference"]

from .fem import fem_heat, fem_reference  # noqa: E402  (issue 4: scikit-fem imported on use)

# issue 3: teacher interface, FTCS, PINN teachers, distillation (paper experiments load lazily)
from .base import AnalyticTeacher, GraphTeacher, SemiDiscreteTeacher, Teacher, cell_operator, teacher_on_cells  # noqa: E402
from .ftcs import FTCSTeacher  # noqa: E402
from .pinn import HeatPDE, PINNTeacher, load_shipped  # noqa: E402
from .distill import choose_quota, distill, fit_conductance_scale, fit_diffusivity, write_config  # noqa: E402

__all__ += ["AnalyticTeacher", "GraphTeacher", "SemiDiscreteTeacher", "Teacher", "cell_operator",
            "teacher_on_cells", "FTCSTeacher", "HeatPDE", "PINNTeacher", "load_shipped",
            "choose_quota", "distill", "fit_conductance_scale", "fit_diffusivity", "write_config"]

# issue 6: spiking-PINN baselines (torch imported on use; registers the `baselines` experiment)
from .baselines import SpikingModel, load_model as load_baseline  # noqa: E402

__all__ += ["SpikingModel", "load_baseline"]
