"""madoguchi bot core: channels, dispatcher, state, persistence, handoff."""
