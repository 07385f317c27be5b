"""recordbase: a self-hosted data service speaking the UiPath Data Service and Pipeliner wire APIs."""

__version__ = "0.1.0"
