from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from tapwork.biometric.client import BiometricClient
from tapwork.biometric.errors import BiometricsDisabled
from tapwork.config import Settings


def client_for(request: Request) -> BiometricClient | None:
    """The app's client to the face service, made on first use; None when biometrics are off."""
    settings: Settings = request.app.state.settings
    if not settings.biometric_enabled:
        return None
    client: BiometricClient | None = getattr(request.app.state, "biometric_client", None)
    if client is None:
        client = BiometricClient(settings)
        request.app.state.biometric_client = client
    return client


def enabled(client: BiometricClient | None) -> BiometricClient:
    """Called in the endpoint, after the body was validated (a dependency raising would hide
    input errors behind BIOMETRICS_DISABLED)."""
    if client is None:
        raise BiometricsDisabled("Face verification is not enabled on this server")
    return client


async def _client(request: Request) -> BiometricClient | None:
    return client_for(request)


Biometrics = Annotated[BiometricClient | None, Depends(_client)]
