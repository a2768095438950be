"""The exceptions evsim raises: one hierarchy, each naming what is wrong.

Every error evsim raises on purpose derives from :class:`EvsimError`, so
``except evsim.EvsimError`` catches them all. The input errors also derive from
``ValueError`` (and :class:`MissingDependency` from ``ImportError``), so code
written against the standard exceptions keeps working::

    EvsimError
    ├── GraphError          a cell graph or Network that cannot be simulated (ValueError)
    ├── ConfigError         a bad parameter, option, configuration key or name (ValueError)
    ├── MeshError           a mesh or mesh file that cannot be turned into cells (ValueError)
    ├── ResultFileError     a result or model file that cannot be read (ValueError)
    └── MissingDependency   an optional package is not installed; names the extra (ImportError)
"""
from __future__ import annotations

__all__ = ["EvsimError", "GraphError", "ConfigError", "MeshError", "ResultFileError",
           "MissingDependency"]


class EvsimError(Exception):
    """Base class of every error evsim raises on purpose."""


class GraphError(EvsimError, ValueError):
    """A cell graph that cannot be simulated; the message names the node or edge."""


class ConfigError(EvsimError, ValueError):
    """A bad parameter, option, configuration key or registry name; the message names it."""


class MeshError(EvsimError, ValueError):
    """A mesh (points, simplices, boundary tags) or mesh file that cannot become cells."""


class ResultFileError(EvsimError, ValueError):
    """A saved result, configuration or model file that cannot be read; names the file."""


class MissingDependency(EvsimError, ImportError):
    """An optional package is missing; the message names the extra that installs it."""
