"""MediSpecs Desktop: get smart-glasses recordings into the cloud safely and review them."""

__version__ = "0.1.0"
APP_NAME = "MediSpecs Desktop"
APP_ID = "medispecs-desktop"
