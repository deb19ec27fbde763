"""The ASGI application for uvicorn: settings from the environment."""

import gc

from tapwork.main import create_app

app = create_app()
# What start-up built lives as long as the process: kept out of the collector's sight, so a
# full collection under load walks only what requests allocate (the scan p99, bench/README.md).
gc.freeze()
