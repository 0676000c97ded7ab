"""The `helms-*` entry points (absl mains). Importing this package imports MuJoCo's MJX once with
its optional-backend messages filtered (`launch/quiet.py`)."""

from launch import quiet

quiet.import_quietly()
