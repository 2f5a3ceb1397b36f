"""Typed FastAPI dependencies: the services and dispatcher built by the app's lifespan."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from bot.engine.dispatcher import Dispatcher
from bot.engine.services import Services


async def get_services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


async def get_dispatcher(request: Request) -> Dispatcher:
    return request.app.state.dispatcher  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(get_services)]
DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]
