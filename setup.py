"""Package layout: the repository keeps one folder per layer at its top (``adapter/``,
``api/``, ``workflows/``, ``activities/``), and the distribution installs them under
one import name, ``evergraph`` (``evergraph.adapter`` …), so Evergraph never takes a
user's own ``api`` or ``workflows`` package. Every sub-package is found here; the
project's metadata is in ``pyproject.toml``."""

from setuptools import find_packages, setup

LAYERS = ("adapter", "api", "workflows", "activities")

packages = find_packages(include=[pattern for layer in LAYERS for pattern in (layer, f"{layer}.*")])

setup(
    packages=[f"evergraph.{name}" for name in packages],
    package_dir={f"evergraph.{layer}": layer for layer in LAYERS},
)
