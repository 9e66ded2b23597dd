"""Hearth: real-time chat server for virtual peer-support groups."""
