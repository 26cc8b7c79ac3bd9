"""Voilà (`make dashboard`) reads voila.py, not jupyter_config.py: share its kernel transport (IPC)."""
load_subconfig("jupyter_config.py")  # noqa: F821  (injected by traitlets; resolved beside this file)
