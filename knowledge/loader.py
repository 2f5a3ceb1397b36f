"""Load the municipality's knowledge (FAQ, ごみ分別 list, procedure catalog) into the services."""

from __future__ import annotations

import logging

from bot.services import Services

log = logging.getLogger(__name__)


def load_knowledge(services: Services) -> None:
    services.knowledge.clear()
