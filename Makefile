.PHONY: up test lint bench
up: ; ./dev up
test: ; ./dev test
lint: ; uv run ruff check src tests migrations bench && uv run mypy && uv run lint-imports
bench: ; uv run python bench/scan.py && uv run python bench/reports.py
