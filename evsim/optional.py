"""Optional heavy imports, through one helper that names the extra to install.

>>> meshio = require("meshio", extra="mesh", feature="reading mesh files")  # doctest: +SKIP

raises :class:`~evsim.errors.MissingDependency` with the ``pip install`` line when
the package is absent. Library code imports optional packages only through
:func:`require`, inside the function that needs them, so ``import evsim`` stays
light and a missing extra is never swallowed silently.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependency

__all__ = ["EXTRAS", "require"]

#: Extra (``pip install "evsim[EXTRA]"``) that provides each optional top-level package.
EXTRAS = {"meshio": "mesh", "skfem": "mesh", "xarray": "io", "netCDF4": "io", "torch": "pinn",
          "dask": "dask", "sanafe": "hardware", "pint": "hardware", "nir": "hardware",
          "pymetis": "hardware", "pde": "bench"}


def require(module: str, extra: str | None = None, feature: str | None = None) -> ModuleType:
    """Import ``module`` (dotted names allowed) or raise :class:`MissingDependency`.

    Parameters
    ----------
    module
        Module to import, e.g. ``"torch"`` or ``"dask.distributed"``.
    extra
        The evsim extra that installs it (default: looked up in :data:`EXTRAS`).
    feature
        What needs it, for the message (e.g. ``"the PINN teacher"``).

    Returns
    -------
    types.ModuleType
        The imported module.

    Raises
    ------
    MissingDependency
        If ``module`` or one of its parent packages is not installed; the
        message names the ``pip install`` line of the extra. A package that is
        installed but fails on one of *its own* imports raises the original
        :class:`ModuleNotFoundError` (a broken installation, not a missing extra).
    """
    parts = module.split(".")
    top = parts[0]
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        missing = {".".join(parts[:k]) for k in range(1, len(parts) + 1)}
        if err.name is not None and err.name not in missing:
            raise                     # the package is there but one of *its* imports is broken
        extra = extra or EXTRAS.get(top)
        what = f" for {feature}" if feature else ""
        hint = (f'pip install "evsim[{extra}]"' if extra else f"pip install {top}")
        if top == "torch":
            hint = ("pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
                    f'  (the CPU build), then pip install "evsim[{extra}]"')
        raise MissingDependency(f"{module} is needed{what} but is not installed: {hint}") from err
