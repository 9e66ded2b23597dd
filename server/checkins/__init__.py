"""Private check-ins (PROTOCOL §6): a member asks, a facilitator opens a private room."""
