"""Install evsim as one import package.

The four top-level folders of the repository (``evsim/``, ``topologies/``,
``teachers/``, ``analysis/``) are mapped onto ``evsim``, ``evsim.topologies``,
``evsim.teachers`` and ``evsim.analysis`` with ``package_dir``, so nothing
generic named ``analysis`` or ``teachers`` lands in site-packages.
"""
from setuptools import setup

setup(
    packages=["evsim", "evsim.topologies", "evsim.teachers", "evsim.analysis"],
    package_dir={
        "evsim": "evsim",
        "evsim.topologies": "topologies",
        "evsim.teachers": "teachers",
        "evsim.analysis": "analysis",
    },
    package_data={"evsim.teachers": ["data/*", "data/baselines/*"]},
)
