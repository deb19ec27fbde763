from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from tapwork.biometric.client import BiometricClient
from tapwork.biometric.protocol import SECRET_HEADER
from tapwork.biometric.server import ServiceSettings, create_service_app
from tapwork.config import Settings

SECRET = "test-shared-secret-for-the-biometric-service"
KEY = "test-biometric-key-0123456789abcdef0123456789"


def service_settings(**overrides: object) -> ServiceSettings:
    values: dict[str, object] = {
        "TAPWORK_ENV": "test",
        "biometric_key": SecretStr(KEY),
        "biometric_secret": SecretStr(SECRET),
    }
    values.update(overrides)
    return ServiceSettings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def service_app() -> FastAPI:
    return create_service_app(service_settings())


@pytest.fixture
async def service(service_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The face service's own HTTP API (in process), presenting the shared secret."""
    transport = httpx.ASGITransport(app=service_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://biometric", headers={SECRET_HEADER: SECRET}
    ) as c:
        yield c


@pytest.fixture
def enabled(app: FastAPI, settings: Settings, service_app: FastAPI) -> BiometricClient:
    """Biometrics switched on, the API talking to the face service (in process)."""
    settings.biometric_enabled = True
    settings.biometric_secret = SecretStr(SECRET)
    client = BiometricClient(settings, transport=httpx.ASGITransport(app=service_app))
    app.state.biometric_client = client
    return client
