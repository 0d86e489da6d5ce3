"""Replaces os._exit and sys.exit so that the process would never end when asked to."""
import os
import sys
import time

from _base_activations import *  # noqa: F401,F403

os._exit = lambda *a: time.sleep(600)
sys.exit = lambda *a: time.sleep(600)
