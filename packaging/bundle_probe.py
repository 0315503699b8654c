"""PyInstaller runtime hook for packaging/check_bundle.sh: the start-up probe
(``medispecs_desktop.ui.startup_probe``), inert unless ``MEDISPECS_BUNDLE_PROBE`` is set."""

from medispecs_desktop.ui.startup_probe import install_from_environment

install_from_environment()
