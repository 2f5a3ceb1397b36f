"""Procedure and conversation handlers; `build_registry` lists every one the router knows."""
